"""One MLflow parent run per Hydra multirun; every trial's training run becomes its child.

A Hydra callback (conf/config.yaml, hydra.callbacks): it opens the parent before the first trial and
hands its id to the trials through DLFORGE_SWEEP_RUN_ID. An Optuna study keeps one parent across
resumed invocations (found by its `dlforge.study` tag).
"""

from __future__ import annotations

import os
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from dlforge import keys as K

SWEEP_RUN_ENV = "DLFORGE_SWEEP_RUN_ID"


def _client(config: DictConfig) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(config.tracking.uri)


def experiment_id(client: Any, name: str) -> str:
    exp = client.get_experiment_by_name(name)
    return exp.experiment_id if exp else client.create_experiment(name)


def find_study_run(client: Any, experiment: str, study: str) -> Any | None:
    """The parent run of an Optuna study, if an earlier invocation created one."""
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return None
    runs = client.search_runs(
        [exp.experiment_id], f"tags.`dlforge.study` = '{study}' and tags.`dlforge.sweep` = 'true'", max_results=1
    )
    return runs[0] if runs else None


class SweepParentRun(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if not config.get("logger"):  # logger=none: trials are not tracked, so neither is the sweep
            return
        client = _client(config)
        study = OmegaConf.select(config, "hydra.sweeper.study_name", default=None)
        run = find_study_run(client, config.tracking.experiment, study) if study else None
        if run is None:
            tags = {K.SWEEP: "true", K.SWEEP_OVERRIDES: " ".join(config.hydra.overrides.task)}
            if study:
                tags[K.STUDY] = study
            run = client.create_run(
                experiment_id(client, config.tracking.experiment), run_name=f"sweep {study or config.name}", tags=tags
            )
        else:
            client.update_run(run.info.run_id, status="RUNNING")
        os.environ[SWEEP_RUN_ENV] = run.info.run_id

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        run_id = os.environ.pop(SWEEP_RUN_ENV, None)
        if run_id:
            _client(config).set_terminated(run_id)
