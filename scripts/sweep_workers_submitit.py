"""Start N sweep workers as SLURM jobs through submitit, all filling one Optuna study in PostgreSQL.

    export DLFORGE_STUDY_STORAGE=postgresql+psycopg2://dlforge@db.example:5432/optuna   # password in ~/.pgpass
    python scripts/sweep_workers_submitit.py --workers 8 --partition cpu -- \\
        experiment=credit_default hparams_search=credit_default

The arguments after `--` are those of `python -m tools.sweep_worker`. Each job runs one worker in
this working copy; the study's URL reaches Hydra as ${oc.env:DLFORGE_STUDY_STORAGE}, so no job's
command, submission script or log holds it (submitit hands the job this environment). `--cluster
local` runs the same jobs as local processes (how tests/e2e/test_sweep_workers.py checks this recipe).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=4, help="worker jobs (a SLURM job array)")
    parser.add_argument("--partition", default=None, help="SLURM partition")
    parser.add_argument("--cpus", type=int, default=4, help="CPU cores per worker: its train.threads")
    parser.add_argument("--mem-gb", type=int, default=16, help="memory per worker")
    parser.add_argument("--timeout-min", type=int, default=240, help="wall-clock limit per worker")
    parser.add_argument(
        "--cluster", default=None, help="submitit cluster: slurm (default where sbatch exists) or local"
    )
    parser.add_argument("--folder", default="logs/submitit", help="submitit's job folder (logs, pickles)")
    parser.add_argument("--wait", action="store_true", help="wait for the workers and fail if one failed")
    parser.add_argument("overrides", nargs="*", help="tools.sweep_worker arguments (after --)")
    args = parser.parse_args()
    if "DLFORGE_STUDY_STORAGE" not in os.environ:
        raise SystemExit("export DLFORGE_STUDY_STORAGE=<the study's PostgreSQL URL, password in ~/.pgpass>")
    import submitit

    executor = submitit.AutoExecutor(folder=args.folder, cluster=args.cluster)
    executor.update_parameters(
        name="dlforge-sweep",
        timeout_min=args.timeout_min,
        cpus_per_task=args.cpus,
        mem_gb=args.mem_gb,
        slurm_partition=args.partition,
        slurm_array_parallelism=args.workers,
    )
    worker = submitit.helpers.CommandFunction(
        [
            sys.executable,
            "-m",
            "tools.sweep_worker",
            *args.overrides,
            "hydra.sweeper.storage=${oc.env:DLFORGE_STUDY_STORAGE}",
            f"train.threads={args.cpus}",
            "hydra.sweeper.workers=1",
        ],
        cwd=str(Path.cwd()),  # no env here: it would be pickled into the job folder; the job inherits ours
    )
    with executor.batch():
        jobs = [executor.submit(worker) for _ in range(args.workers)]
    print(f"{len(jobs)} sweep workers submitted: {', '.join(j.job_id for j in jobs)} (logs in {args.folder})")
    if args.wait:
        for job in jobs:
            job.result()  # raises with the worker's output when it failed


if __name__ == "__main__":
    main()
