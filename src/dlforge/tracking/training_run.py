"""The MLflow run of a training: opened (or reopened after a kill), tagged, given the composed config
and the data, sampled for system metrics while open, and ended with the fit's outcome.

Only global rank 0 opens one. A fit resumed from a checkpoint logs into the run that checkpoint names
(dlforge.models.checkpoints); if that run was deleted, a new one is tagged with its id. Runs that a
killed process left RUNNING are closed as KILLED first (dlforge.tracking.liveness). System metrics are
MLflow's own (`mlflow.start_run(log_system_metrics=True)`): a sample every `system_metrics_interval`
seconds, as the run page's system/* metrics.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import mlflow
from hydra.utils import instantiate
from mlflow.entities import Param
from omegaconf import DictConfig, OmegaConf

from dlforge import keys as K
from dlforge.data.prepared import Prepared
from dlforge.tracking import datasets, lineage, liveness, machine, runs


class TrainingRun:
    """Where the run goes and what it records (conf/logger/mlflow.yaml); `open` starts it."""

    def __init__(
        self,
        experiment_name: str,
        tracking_uri: str,
        run_name: str,
        system_metrics: bool = True,
        system_metrics_interval: float = 10.0,
        write_every_s: float = 5.0,
    ) -> None:
        self.experiment_name, self.tracking_uri, self.run_name = experiment_name, tracking_uri, run_name
        self.system_metrics, self.system_metrics_interval = system_metrics, system_metrics_interval
        self.write_every_s = (
            write_every_s  # curve points wait this long to be sent in one batch (dlforge.tracking.curves)
        )
        self.run_id: str | None = None
        self.status = "FINISHED"  # how the run ends when the fit returns (a pruned trial: KILLED)

    def start(self, tags: dict[str, str], resumed: str | None, epochs_done: int) -> None:
        client = runs.client(self.tracking_uri)
        liveness.close_stale(client, self.experiment_name)
        tags = {**tags, **liveness.owner_tags(), **machine.tags()}
        run_id = resumed if resumed and runs.exists(client, resumed) else None
        if resumed and run_id is None:
            tags[K.RESUMED_FROM_RUN] = resumed  # that run was deleted: a new one names it
        if epochs_done:
            tags[K.RESUMED_FROM_EPOCH] = str(epochs_done)
        mlflow.set_tracking_uri(self.tracking_uri)
        for name in ("mlflow.system_metrics", "mlflow.tracking.fluent"):  # INFO on starting and stopping: not news
            logging.getLogger(name).setLevel(logging.WARNING)
        mlflow.set_system_metrics_sampling_interval(self.system_metrics_interval)
        if run_id:
            liveness.claim(client, run_id)
            run = mlflow.start_run(run_id=run_id, log_system_metrics=self.system_metrics)
        else:
            experiment = mlflow.set_experiment(self.experiment_name)
            run = mlflow.start_run(
                experiment_id=experiment.experiment_id, run_name=self.run_name, log_system_metrics=self.system_metrics
            )
        self.run_id = run.info.run_id
        mlflow.set_tags(tags)

    def log_config(self, cfg: DictConfig, data: Prepared, name: str) -> None:
        """The composed config as params (`model/net/hidden`, …) and as config.yaml; the splits as datasets."""
        client = runs.client(self.tracking_uri)
        params = [Param(k, str(v)[:250]) for k, v in flatten(OmegaConf.to_container(cfg, resolve=True)).items()]
        for i in range(0, len(params), 100):  # MLflow takes at most 100 params a batch
            client.log_batch(self.run_id, params=params[i : i + 100])
        client.log_text(self.run_id, OmegaConf.to_yaml(cfg, resolve=True), "config.yaml")
        datasets.log(client, self.run_id, data, name)

    def pruned(self) -> None:
        """The sweep's pruner stopped this trial: the run ends KILLED, tagged as Optuna's trial is."""
        mlflow.set_tag(K.TRIAL_STATE, "PRUNED")
        self.status = "KILLED"

    def __enter__(self) -> TrainingRun:
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        mlflow.end_run("FAILED" if kind is not None else self.status)  # stops the system-metrics thread too


def open(cfg: DictConfig, data: Prepared, resumed: str | None, epochs_done: int) -> TrainingRun:  # noqa: A001
    """Start the training job's run (reopening `resumed`) and log its config, lineage and data into it."""
    run = instantiate(cfg.logger)
    tags = {**lineage.tags(data.path), **cfg.tracking.tags}
    if cfg.train.tuned_by:
        tags[K.SWEEP_RUN_ID] = cfg.train.tuned_by
    run.start(tags, resumed, epochs_done)
    try:
        run.log_config(cfg, data, cfg.name)
    except BaseException:
        mlflow.end_run("FAILED")  # not left open and RUNNING in this process
        raise
    return run


def write_ref(path: Path, run: TrainingRun | None, best_epoch: int) -> None:
    """models/<use case>/run.json: the run evaluate and register log into (none with logger=none), and the
    epoch whose weights were exported (register links that epoch's validation metrics to the model)."""
    runs.write_run_ref(
        path, run and run.run_id, run and run.tracking_uri, run and run.experiment_name, best_epoch=best_epoch
    )


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a/b": 1}; lists stay values."""
    flat: dict[str, Any] = {}
    for k, v in tree.items():
        if isinstance(v, dict):
            flat.update(flatten(v, f"{prefix}{k}/"))
        else:
            flat[f"{prefix}{k}"] = v
    return flat
