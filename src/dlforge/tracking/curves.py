"""Lightning's MLflow logger with the curves written off the training loop, and failures not lost.

Profiling the train stage showed each epoch's synchronous SQLite writes (two `log_batch` calls: the
validation and the training metrics) costing about as much CPU as the epoch's maths on the small use
cases (docs/benchmarks.md). This logger hands the metrics to MLflow's asynchronous logging queue, so
the writes happen on MLflow's thread while the training thread goes on. (MLflow can also merge the
writes of a few seconds, MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS; with mlflow 3.17 that made the
end-of-run drain hang, so it is not used.) The curves are the same points with the same steps. When
the run ends (`finalize`, called by the Trainer after fit) MLflow drains its queue, and this logger
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
    """dlforge's MLflow logger (system metrics too) with `synchronous=False`, checking at the end that
    its curves reached the run. Takes the same arguments as `MLFlowLogger` (dlforge.tracking.mlflow_logger)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **{**kwargs, "synchronous": False})
        self._logged: set[str] = set()

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        from mlflow.entities import Metric

        stamp = int(time.time() * 1000)
        batch = [
            Metric(
                key=re.sub("[^a-zA-Z0-9_/. -]+", "", self._prefix + k), value=float(v), timestamp=stamp, step=step or 0
            )
            for k, v in metrics.items()
            if not isinstance(v, str)
        ]
        self.experiment.log_batch(run_id=self.run_id, metrics=batch, synchronous=False)
        self._logged.update(m.key for m in batch)

    @rank_zero_only
    def finalize(self, status: str = "success") -> None:
        super().finalize(status)  # ends the run; MLflow first drains its queue of pending writes
        if self._logged and self._run_id:
            written = set(self.experiment.get_run(self._run_id).data.metrics)
            missing = sorted(self._logged - written)
            if missing:
                raise RuntimeError(f"MLflow run {self._run_id}: curves not written: {', '.join(missing)}")


MLflowCurves.__signature__ = MLFlowLogger.__signature__  # config validation names a mistyped key
