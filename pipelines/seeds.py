"""Seed spread: prepare → train → evaluate each use case under several seeds, outside the DVC outputs.

    python -m pipelines.seeds                          # every use case, seeds 42 43 44 (make seeds)
    python -m pipelines.seeds --use-cases digits credit_default --seeds 42 43 44

The seed drives the split, the initial weights and the batch order, so the spread covers all three.
Each run writes under seeds/<use case>/<seed>/ (gitignored) with logger=none: no MLflow run, no
registered model, the DVC outputs untouched. The gate metric of the deep model and of every baseline
is collected per seed into docs/seeds.json (with the date, the command and the machine), which
`pipelines.results` reads: a deep model is marked as beating the classical methods only when it
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
from pipelines.dvc_sync import declared_use_cases

OUT = Path("docs/seeds.json")


def run_one(use_case: str, seed: int, root: Path) -> dict[str, float]:
    """The gate metric of the model and of each baseline for one seed; also the metric's name and direction."""
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
        cfg = compose("config", overrides=overrides)
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
    parser.add_argument("--out", type=Path, default=OUT, help="the summary JSON that `pipelines.results` reads")
    args = parser.parse_args(argv)
    if len(args.seeds) < 2:
        parser.error("--seeds: at least two seeds (a spread needs them)")

    from dlforge.tracking import machine

    summary = json.loads(args.out.read_text()) if args.out.exists() else {"use_cases": {}}
    for use_case in args.use_cases:
        per_seed = {seed: run_one(use_case, seed, args.root) for seed in args.seeds}
        summary["use_cases"][use_case] = {  # each use case keeps its own seeds and provenance
            **summarise(per_seed),
            "generated": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "command": " ".join(
                ["python -m pipelines.seeds", *map(shlex.quote, sys.argv[1:] if argv is None else argv)]
            ),
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
