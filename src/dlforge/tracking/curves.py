"""Lightning's MLflow logger with the curves written in batches every few seconds, and none lost.

Profiling the train stage (2026-12-06, benchmarks.overhead's configurations side by side: the stage
with `logger=none` against the production logger, credit_default, 1 thread) put MLflow at ~22 ms
of every epoch: two `log_batch` calls per epoch (the validation and the training metrics), each a
SQLAlchemy transaction that costs ~10 ms of Python, on an epoch whose maths takes ~60 ms. Handing
them to MLflow's asynchronous queue (what this logger did before) moves the work to another thread
but not off the GIL, so the epoch paid for it anyway. This logger keeps the points (key, value,
step, and the timestamp of the moment they were logged) and writes everything pending in one
`log_batch` once the oldest of them has waited `write_every_s` seconds, and when the fit ends
(`finalize`, also after a failure). A run of many short epochs makes one write every few seconds;
with epochs longer than `write_every_s`, each epoch's points are written as the next epoch logs, so
the UI's curves stay live, one epoch behind at most.

Nothing is lost to a kill: dlforge.tracking.journal appends every point to a file beside the
checkpoints as it is logged, and a fit resumed after a kill `replay`s the points of its completed
epochs with the time each was first logged, leaving out those the run already has (the same key,
step and value: they were written before the kill). At the end, the logger
checks that every metric it was given is in the run, so a lost curve fails the stage instead of
passing silently.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

from pytorch_lightning.utilities import rank_zero_only

from dlforge.tracking.mlflow_logger import MLFlowLogger


class MLflowCurves(MLFlowLogger):
    """dlforge's MLflow logger (system metrics too) writing its points in batches (see the module).

    Takes `MLFlowLogger`'s arguments (dlforge.tracking.mlflow_logger) and `write_every_s`: how long
    the oldest pending point waits before everything pending is written (0: each call writes at once)."""

    def __init__(self, *args: Any, write_every_s: float = 5.0, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.write_every_s = write_every_s
        self.pending: list[tuple[str, float, int, int]] = []  # (key, value, timestamp ms, step), in logging order
        self._oldest = 0.0  # time.monotonic() when the oldest pending point was logged
        self._logged: set[str] = set()

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        if not self.pending:
            self._oldest = time.monotonic()
        self._add(metrics, step, int(time.time() * 1000))
        if self.pending and time.monotonic() - self._oldest >= self.write_every_s:
            self.write()

    def replay(self, calls: list[dict[str, Any]]) -> None:
        """Queue a resumed fit's earlier calls (dlforge.tracking.journal), each with its first time, before its
        own; the points the run already has (same key, step and value) are left out."""
        queued, self.pending = self.pending, []
        for call in calls:
            self._add(call["metrics"], call["step"], call["time"])
        history = self.experiment.get_metric_history
        written = {(k, m.step, m.value) for k in {p[0] for p in self.pending} for m in history(self.run_id, k)}
        self.pending = [p for p in self.pending if (p[0], p[3], p[1]) not in written] + queued
        self._oldest = time.monotonic()

    def _add(self, metrics: Mapping[str, float], step: int | None, stamp: int) -> None:
        for k, v in metrics.items():
            if not isinstance(v, str):
                self.pending.append((re.sub("[^a-zA-Z0-9_/. -]+", "", self._prefix + k), float(v), stamp, step or 0))

    def write(self) -> None:
        """Write every pending point to the run in one synchronous `log_batch` (MLflow splits large ones)."""
        from mlflow.entities import Metric

        batch = [Metric(key=k, value=v, timestamp=t, step=s) for k, v, t, s in self.pending]
        self.experiment.log_batch(run_id=self.run_id, metrics=batch)
        self._logged.update(m.key for m in batch)
        self.pending = []

    @rank_zero_only
    def finalize(self, status: str = "success") -> None:
        if self.pending and self._run_id:
            self.write()  # before the run ends: a finished run takes no more points
        super().finalize(status)
        if self._logged and self._run_id:
            written = set(self.experiment.get_run(self._run_id).data.metrics)
            missing = sorted(self._logged - written)
            if missing:
                raise RuntimeError(f"MLflow run {self._run_id}: curves not written: {', '.join(missing)}")


def _signature() -> Any:
    import inspect

    params = list(MLFlowLogger.__signature__.parameters.values())
    extra = inspect.Parameter("write_every_s", inspect.Parameter.KEYWORD_ONLY, default=5.0, annotation=float)
    return MLFlowLogger.__signature__.replace(parameters=[*params, extra])


MLflowCurves.__signature__ = _signature()  # config validation names a mistyped key
