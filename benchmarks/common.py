"""Helpers shared by the benchmarks: run a stage or script, alternate two sides, take medians."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def env(**extra: str) -> dict[str, str]:
    """The environment of a benchmark subprocess: this checkout importable, `extra` on top."""
    # this checkout's src first, even when the editable install points at another worktree's
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]), **extra}


_EMPTY_STORE: list[Path] = []  # one migrated, empty MLflow SQLite store per benchmark process


def scratch_store(folder: Path, experiment: str) -> str:
    """A fresh MLflow SQLite store in `folder` (a copy of one migrated empty store: MLflow's schema
    migrations are not what any benchmark measures) whose experiment keeps its artifacts in `folder`
    too, not in ./mlruns of the repo; returns its tracking URI."""
    import atexit
    import shutil
    import tempfile

    from mlflow.tracking import MlflowClient

    if not _EMPTY_STORE:
        empty = Path(tempfile.mkdtemp(prefix="dlforge-bench-store-")) / "mlflow.db"
        atexit.register(shutil.rmtree, empty.parent, ignore_errors=True)  # removed when the benchmark ends
        MlflowClient(f"sqlite:///{empty}").search_experiments()
        _EMPTY_STORE.append(empty)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(_EMPTY_STORE[0], folder / "mlflow.db")
    uri = f"sqlite:///{folder}/mlflow.db"
    MlflowClient(uri).create_experiment(experiment, artifact_location=(folder / "artifacts").as_uri())
    return uri


def python(*args: str, extra_env: dict[str, str] | None = None, quiet: bool = True) -> float:
    """Run `python *args` in the repo root; the wall time in seconds. Fails loudly on a non-zero exit."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env(**(extra_env or {})), capture_output=quiet, text=True
    )
    if proc.returncode:
        raise SystemExit(f"benchmark step failed: python {' '.join(args)}\n{proc.stderr[-3000:] if quiet else ''}")
    return time.perf_counter() - start


def timed_run(cmd: list[str], cwd: Path, run_env: dict[str, str]) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run `cmd` with its output captured: (the process, wall seconds, CPU seconds user + sys). Fails loudly
    on a non-zero exit. CPU time is steadier than wall time on a machine whose cores other jobs share."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    start, cpu = time.perf_counter(), usage.ru_utime + usage.ru_stime
    proc = subprocess.run(cmd, cwd=cwd, env=run_env, capture_output=True, text=True)
    wall, usage = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"benchmark step failed: {' '.join(cmd)}\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}")
    return proc, wall, usage.ru_utime + usage.ru_stime - cpu


def stage(module: str, *overrides: str, extra_env: dict[str, str] | None = None) -> float:
    return python("-m", module, *overrides, extra_env=extra_env)


def alternate(sides: dict[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """Run every side once per repetition, in turn (a, b, a, b, ...); each side's values in order."""
    values: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(repeats):
        for name, run in sides.items():
            values[name].append(run())
    return values


def median(values: list[float]) -> float:
    return statistics.median(values)


def ratio_of_medians(num: list[float], den: list[float]) -> float:
    return median(num) / median(den)
