"""Seed spread: prepare → train → evaluate each use case under several seeds, outside the DVC outputs.

    python -m tools.seeds                              # every use case, seeds 42 43 44 (make seeds)
    python -m tools.seeds --use-cases digits credit_default --seeds 42 43 44

The seed drives the split, the initial weights and the batch order, so the spread covers all three.
Each run writes under seeds/<use case>/<seed>/ (gitignored) with logger=none: no MLflow run, no
registered model, the DVC outputs untouched. `--baselines-only` refits only the baselines (new ones
on the same seeds' splits) and keeps each seed's model value from the summary, with the date it was
measured (`model_generated`). The gate metric of the deep model and of every baseline
is collected per seed into docs/seeds.json (with the date, the command and the machine), which
`tools.results` reads: a deep model is marked as beating the classical methods only when it
beats every baseline on every seed (paired: the same split for all).
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import statistics
import sys
from pathlib import Path

from hydra import compose, initialize_config_dir

import dlforge.config.schema  # noqa: F401  (registers the schema)
from dlforge import keys as K
from dlforge.tasks.directions import higher_is_better
from pipelines import evaluate, prepare, train
from pipelines._entry import CONF
from tools.dvc_sync import declared_use_cases

OUT = Path("docs/seeds.json")


def _config(use_case: str, seed: int, root: Path):
    where = root / use_case / str(seed)
    overrides = [
        f"experiment={use_case}",
        f"seed={seed}",
        "logger=none",
        "callbacks.progress_bar=null",
        f"paths.prepared={where}/data",
        f"paths.models={where}/models",
        f"paths.reports={where}/reports",
        f"paths.checkpoints={where}/checkpoints",
    ]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=overrides)


def run_one(use_case: str, seed: int, root: Path) -> dict[str, float]:
    """The gate metric of the model and of each baseline for one seed; also the metric's name and direction."""
    cfg = _config(use_case, seed, root)
    prepare.run(cfg)
    train.run(cfg)
    metrics = evaluate.run(cfg)
    metric = cfg.register.gate.metric
    import torch

    return {
        "torch_threads": torch.get_num_threads(),  # as train and evaluate set it (train.threads)
        "metric": metric,
        "higher_is_better": higher_is_better(metric),
        "values": {name: values[metric] for name, values in metrics.items() if not name.startswith(K.FLOOR)},
    }


def run_seeds(use_case: str, seeds: list[int], root: Path, jobs: int) -> dict[int, dict]:
    """run_one for each seed, in `jobs` processes at once (each seed's run is the same as alone)."""
    if jobs <= 1:
        return {seed: run_one(use_case, seed, root) for seed in seeds}
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        return dict(zip(seeds, pool.map(run_one, [use_case] * len(seeds), seeds, [root] * len(seeds))))


def baselines_one(use_case: str, seed: int, root: Path, model: float) -> dict[str, float]:
    """As run_one, but only the baselines are fitted; the model's value is `model`, measured before on the
    same seed (--baselines-only: the same prepared split, so the pairing holds)."""
    from dlforge.data import prepared as prepared_data
    from dlforge.tasks.base import build

    cfg = _config(use_case, seed, root)
    prepare.run(cfg)
    data, task, metric = prepared_data.load(cfg.paths.prepared), build(cfg.task), cfg.register.gate.metric
    truth = task.reference(data)
    values = {n: task.metric(metric, p, truth) for n, p in task.baselines(data).items() if not n.startswith(K.FLOOR)}
    import torch

    return {
        "torch_threads": torch.get_num_threads(),
        "metric": metric,
        "higher_is_better": higher_is_better(metric),
        "values": {"model": model, **values},
    }


def summarise(per_seed: dict[int, dict]) -> dict:
    """Mean ± sd of the model and of every baseline; the strongest classical baseline (best by mean); on
    how many seeds the model beat every baseline at once (paired: the same split); the margin to the
    strongest, model minus baseline in the metric's units (its sign: the metric's direction says better)."""
    first = next(iter(per_seed.values()))
    higher, names = first["higher_is_better"], first["values"].keys()
    column = {n: [r["values"][n] for r in per_seed.values()] for n in names}
    stats = {n: {"mean": statistics.fmean(v), "sd": statistics.stdev(v), "values": v} for n, v in column.items()}
    baselines = [n for n in names if n != "model"]
    best = (max if higher else min)(baselines, key=lambda n: stats[n]["mean"])
    beats = (lambda m, b: m > b) if higher else (lambda m, b: m < b)
    wins = sum(all(beats(r["values"]["model"], r["values"][b]) for b in baselines) for r in per_seed.values())
    return {
        "metric": first["metric"],
        "higher_is_better": higher,
        "seeds": list(per_seed),
        "torch_threads": first["torch_threads"],
        "model": stats["model"],
        "best_baseline": best,
        "baseline": stats[best],
        "baselines": {n: stats[n] for n in baselines},
        "margin": stats["model"]["mean"] - stats[best]["mean"],
        "wins": wins,
        "beats_on_every_seed": wins == len(per_seed),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    every = list(declared_use_cases())
    parser.add_argument("--use-cases", nargs="+", default=every, choices=every, metavar="USE_CASE")
    parser.add_argument("--seeds", nargs="+", type=int, default=[42, 43, 44])
    parser.add_argument("--root", type=Path, default=Path("seeds"), help="where the runs write (gitignored)")
    parser.add_argument("--out", type=Path, default=OUT, help="the summary JSON that `tools.results` reads")
    parser.add_argument("--jobs", type=int, default=1, help="seeds run at once, each in its own process")
    parser.add_argument(
        "--baselines-only",
        action="store_true",
        help="fit only the baselines; keep each seed's model value from --out (the date it was measured is kept)",
    )
    args = parser.parse_args(argv)
    if len(args.seeds) < 2:
        parser.error("--seeds: at least two seeds (a spread needs them)")

    from dlforge.tracking import machine

    summary = json.loads(args.out.read_text()) if args.out.exists() else {"use_cases": {}}
    for use_case in args.use_cases:
        before = summary["use_cases"].get(use_case, {})
        if args.baselines_only:
            if before.get("seeds") != args.seeds:
                parser.error(f"--baselines-only: {args.out} has no model values of {use_case} for seeds {args.seeds}")
            models = dict(zip(before["seeds"], before["model"]["values"]))
            per_seed = {seed: baselines_one(use_case, seed, args.root, models[seed]) for seed in args.seeds}
            then = dict(zip(before["seeds"], before["baseline"]["values"]))  # the old best baseline, refitted now
            now = {seed: r["values"].get(before["best_baseline"]) for seed, r in per_seed.items()}
            if any(now[seed] is None or abs(now[seed] - then[seed]) > 1e-6 for seed in args.seeds):
                raise SystemExit(
                    f"error: {use_case}: {before['best_baseline']} scores {now} now, {then} when the model values were "
                    "measured: the splits differ, so those model values cannot be paired (run without --baselines-only)"
                )
            kept = {"model_generated": before.get("model_generated", before["generated"])}
        else:
            per_seed, kept = run_seeds(use_case, args.seeds, args.root, args.jobs), {}
        summary["use_cases"][use_case] = {  # each use case keeps its own seeds and provenance
            **summarise(per_seed),
            **kept,
            "generated": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "command": " ".join(["python -m tools.seeds", *map(shlex.quote, sys.argv[1:] if argv is None else argv)]),
        }
        summary["machine"] = {k: v for k, v in machine.tags().items() if k != K.TORCH_THREADS}  # threads: per use case
        args.out.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        s = summary["use_cases"][use_case]
        print(
            f"{use_case}: {s['metric']} model {s['model']['mean']:.4f} ± {s['model']['sd']:.4f}, "
            f"{s['best_baseline']} {s['baseline']['mean']:.4f} ± {s['baseline']['sd']:.4f}, "
            f"model better than every baseline on {s['wins']}/{len(args.seeds)} seeds"
        )


if __name__ == "__main__":
    main()
