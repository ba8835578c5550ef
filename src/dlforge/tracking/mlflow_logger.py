"""Lightning's MLflow logger, recording the machine's system metrics while the run trains.

MLflow samples CPU, memory, disk, network and (with pynvml and a GPU) GPU utilisation and memory
in a thread (mlflow.system_metrics) and logs them as `system/*` metrics: the run page's "System
metrics" tab. MLflow starts that thread only for runs opened with `mlflow.start_run`; Lightning's
logger opens its run through the client, so this logger starts it as soon as its run exists and
stops it in `finalize` (end of fit, or a failure), after one last sample so that even a run
shorter than the interval has its figures. Only global rank 0 has a logger, so one thread per job.
"""

from __future__ import annotations

import inspect
from typing import Any

from pytorch_lightning.loggers import MLFlowLogger as _MLFlowLogger


class MLFlowLogger(_MLFlowLogger):
    def __init__(self, *args: Any, system_metrics: bool = True, system_metrics_interval: float = 10.0, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.system_metrics, self.system_metrics_interval = system_metrics, system_metrics_interval
        self._monitor, self._monitored = None, False  # the thread, and whether it ever ran (it runs once per run)

    @property
    def experiment(self) -> Any:
        client = super().experiment
        if self.system_metrics and not self._monitored and self._run_id is not None:
            import logging

            from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

            logging.getLogger("mlflow.system_metrics").setLevel(logging.WARNING)  # no INFO lines in stage output

            self._monitor = SystemMetricsMonitor(
                self._run_id, sampling_interval=self.system_metrics_interval, tracking_uri=self._tracking_uri
            )
            self._monitor.start()
            self._monitored = True
        return client

    def finalize(self, status: str = "success") -> None:
        self.stop_system_metrics()
        super().finalize(status)

    def stop_system_metrics(self) -> None:
        """Stop the sampling thread, logging one last sample (the thread logs only every full interval)."""
        monitor, self._monitor = self._monitor, None
        if monitor is None:
            return
        monitor.finish()
        monitor.collect_metrics()
        monitor.publish_metrics(monitor.aggregate_metrics())
        monitor.mlflow_logger.flush()


def _signature() -> inspect.Signature:
    """Lightning's arguments and ours, so that config validation still names a mistyped key."""
    parent = list(inspect.signature(_MLFlowLogger.__init__).parameters.values())[1:]
    ours = [
        inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d, annotation=a)
        for n, d, a in (("system_metrics", True, bool), ("system_metrics_interval", 10.0, float))
    ]
    return inspect.Signature([p for p in parent if p.kind is not p.VAR_KEYWORD] + ours)


MLFlowLogger.__signature__ = _signature()
