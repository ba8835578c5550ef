"""Sweep workers: the same Optuna study filled by two worker processes and by one.

    python -m benchmarks.sweeps [--repeats 3] [--trials 8] [--epochs 100] [--pg-uri URI] [--json out.json]

Both sides run `python -m tools.sweep_worker experiment=credit_default hparams_search=credit_default`
with `train.threads=1` (one torch thread per trial, so two workers fit two cores) and a fixed number of
epochs (early stopping and pruning off, so every trial does the same work): one side with one worker, the other
with `hydra.sweeper.workers=2` (one command starting two worker processes). The sides alternate; each
run gets a fresh study, a fresh MLflow store (a copy of one migrated empty SQLite store, so neither side
pays MLflow's schema migrations) and its own sweep, checkpoint and artifact folders, all removed
afterwards. Figure: the median wall time of the whole command; ratio = one worker / two (target ≥ 1.7x
on 2 cores). Each run is checked: exactly `trials` trials COMPLETE in Optuna and FINISHED in MLflow, and
both sides trained the same hyperparameters trial by trial (a worker seeds each trial's draws with
seed + trial number, and with at most 10 trials all are TPE's seeded start-up draws). `trials_s` is
the span from the first trial's start to the last one's end (MLflow run times): what the wall time holds
beyond it is start-up, the parent run and the summary.

Why 8 trials of 100 epochs (~13 s each on one quiet core): both sides spend F ≈ 10 s outside their
trials (Python and Hydra start-up, imports of torch, Lightning, MLflow and Optuna, the parent run, the
summary plots), and two workers add X ≈ 3 s (the starting command composes the config once more before
its workers start; two processes importing at once on two cores). With T per trial the ratio is
(F + 8T) / (F + X + 4T): ≥ 1.7x needs T ≥ (1.7 (F + X) - F) / 1.2, about 10 s. Shorter trials measure
start-up, not the sweep; `--epochs` and `--trials` trade the two. Inside the trial phase nothing is
re-imported or re-composed between trials and no worker waits for another's trial (no batches).

Both storages workers support: PostgreSQL (`--pg-uri`, else DLFORGE_BENCH_PG_URI: each run in a
throwaway database that the URI's role creates and drops; without a URI that row says so, never
substituted) and Optuna's journal file (`journal:<path>`).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from benchmarks.common import alternate, median, ratio_of_medians, scratch_store, stage
from dlforge.sweeps import study as studies

USE_CASE = "credit_default"
TRIALS, EPOCHS = 8, 100  # ~13 s of training per trial on one quiet core: long against ~13 s outside the trials
TARGET = 1.7
PG_ENV = "DLFORGE_BENCH_PG_URI"
NO_PG = f"not measured: no PostgreSQL (set {PG_ENV} or run scripts/postgres-setup.sh)"
SIDES = {"sequential": ["hydra.sweeper.workers=1"], "parallel": ["hydra.sweeper.workers=2"]}  # 1 worker, 2 workers
STORAGES = ("postgresql", "journal")


@contextlib.contextmanager
def pg_database(uri: str) -> Iterator[str]:
    """A new empty PostgreSQL database next to the one `uri` names (dropped afterwards); yields its URI."""
    import psycopg2
    from sqlalchemy.engine import make_url

    url = make_url(uri)
    name = f"dlforge_bench_{secrets.token_hex(4)}"
    admin = psycopg2.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, dbname="postgres", connect_timeout=5
    )
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE {name}")
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def sweep(tmp: Path, prepared: Path, side: str, storage: str, trials: int, epochs: int) -> dict:
    """One sweep in a folder of its own; its wall time, trial span and trials (checked complete)."""
    import optuna
    from mlflow.tracking import MlflowClient

    run = Path(tempfile.mkdtemp(prefix=f"{side}-", dir=tmp))
    client = MlflowClient(scratch_store(run, USE_CASE))
    study = f"bench-{run.name}"
    with contextlib.ExitStack() as stack:
        url = f"journal:{run}/study.log" if storage == "journal" else stack.enter_context(pg_database(storage))
        wall = stage(
            "tools.sweep_worker",
            f"experiment={USE_CASE}",
            f"hparams_search={USE_CASE}",
            f"paths.prepared={prepared}",
            f"paths.checkpoints={run}/checkpoints",
            f"tracking.uri=sqlite:///{run}/mlflow.db",
            f"hydra.sweep.dir={run}/sweep",
            f"hydra.sweeper.storage={url}",
            f"hydra.sweeper.study_name={study}",
            f"hydra.sweeper.n_trials={trials}",
            f"trainer.max_epochs={epochs}",
            "callbacks.early_stopping=null",
            "hydra/sweeper/pruner=none",  # every trial trains all its epochs on both sides
            "callbacks.progress_bar=null",
            "print_config=false",
            "train.threads=1",
            *SIDES[side],
        )
        done = optuna.load_study(study_name=study, storage=studies.storage(url)).trials
    children = [
        r
        for r in client.search_runs([client.get_experiment_by_name(USE_CASE).experiment_id])
        if r.data.tags.get("dlforge.sweep") != "true"
    ]
    if [t.state.name for t in done] != ["COMPLETE"] * trials or [r.info.status for r in children] != [
        "FINISHED"
    ] * trials:
        raise SystemExit(f"benchmark sweep {run} did not finish its {trials} trials: {[t.state.name for t in done]}")
    span = (max(r.info.end_time for r in children) - min(r.info.start_time for r in children)) / 1000
    shutil.rmtree(run)
    return {"wall_s": wall, "trials_s": span, "params": {t.number: t.params for t in done}}


def measure(tmp: Path, repeats: int, pg_uri: str | None, trials: int = TRIALS, epochs: int = EPOCHS) -> dict:
    """One worker vs two, on PostgreSQL (when `pg_uri` is given) and on a journal file."""
    prepared = tmp / "prepared" / USE_CASE
    stage("pipelines.prepare", f"experiment={USE_CASE}", f"paths.prepared={prepared}")
    result: dict = {"use_case": USE_CASE, "trials": trials, "epochs": epochs, "repeats": repeats, "storages": {}}
    result["storages"]["postgresql"] = (
        pair(tmp, prepared, pg_uri, repeats, trials, epochs) if pg_uri else {"skipped": NO_PG}
    )
    result["storages"]["journal"] = pair(tmp, prepared, "journal", repeats, trials, epochs)
    return result


def pair(tmp: Path, prepared: Path, storage: str, repeats: int, trials: int, epochs: int) -> dict:
    """Both sides, alternating, on one kind of storage (a PostgreSQL role's URI, or "journal")."""
    runs: dict[str, list[dict]] = {side: [] for side in SIDES}

    def one(side: str) -> float:
        runs[side].append(sweep(tmp, prepared, side, storage, trials, epochs))
        return runs[side][-1]["wall_s"]

    alternate({side: functools.partial(one, side) for side in SIDES}, repeats)
    params = [r["params"] for side in SIDES for r in runs[side]]
    if any(p != params[0] for p in params):
        raise SystemExit(f"the two sides trained different hyperparameters: {params}")
    walls = {side: [r["wall_s"] for r in runs[side]] for side in SIDES}
    spans = {side: [r["trials_s"] for r in runs[side]] for side in SIDES}
    return {
        **{f"{side}_s": median(walls[side]) for side in SIDES},
        **{f"{side}_trials_s": median(spans[side]) for side in SIDES},
        "ratio": ratio_of_medians(walls["sequential"], walls["parallel"]),
        "trials_ratio": ratio_of_medians(spans["sequential"], spans["parallel"]),
        "runs": walls,
        "trial_spans": spans,
    }


def rows(result: dict) -> list[str]:
    lines = [
        f"| Optuna storage | 1 worker s ({result['trials']} trials) | 2 workers s | 1 worker / 2 workers "
        "| trials only (first start → last end) | target |",
        "|---|---|---|---|---|---|",
    ]
    for storage, r in result["storages"].items():
        if "skipped" in r:
            lines.append(f"| {storage} | {r['skipped']} | | | | ≥ {TARGET}x |")
            continue
        mark = "met" if r["ratio"] >= TARGET else "**missed**"
        lines.append(
            f"| {storage} | {r['sequential_s']:.1f} | {r['parallel_s']:.1f} | {r['ratio']:.2f}x "
            f"| {r['sequential_trials_s']:.1f} s / {r['parallel_trials_s']:.1f} s = {r['trials_ratio']:.2f}x "
            f"| ≥ {TARGET}x ({mark}) |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--trials", type=int, default=TRIALS, help="trials per sweep (at most 10: seeded draws)")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="epochs per trial (early stopping off)")
    parser.add_argument("--pg-uri", default=os.environ.get(PG_ENV), help=f"PostgreSQL role URI (default: ${PG_ENV})")
    parser.add_argument("--json", help="also write the raw figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dlforge-bench-") as tmp:
        result = measure(Path(tmp), args.repeats, args.pg_uri, args.trials, args.epochs)
    print("\n".join(rows(result)))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
