"""One MLflow parent run per Hydra multirun; every trial's training run becomes its child.

A Hydra callback (conf/config.yaml, hydra.callbacks): it opens the parent before the first trial and
hands its id to the trials through DLFORGE_SWEEP_RUN_ID. An Optuna study keeps one parent across
resumed invocations (found by its `dlforge.study` tag). Sweep workers share one parent through the
study itself (`study_parent`): the worker that creates the study creates the run and stores its id
in the study, and every other worker reads it there.
"""

from __future__ import annotations

import os
import time
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


def new_parent(client: Any, experiment: str, study: str | None, overrides: list[str], name: str) -> Any:
    tags = {K.SWEEP: "true", K.SWEEP_OVERRIDES: " ".join(overrides)}
    if study:
        tags[K.STUDY] = study
    return client.create_run(experiment_id(client, experiment), run_name=f"sweep {study or name}", tags=tags)


def study_parent(client: Any, experiment: str, study: Any, created: bool, overrides: list[str], wait_s: float) -> str:
    """The parent run id every worker of `study` uses; made (or found) by the worker that `created` the study.

    Optuna's create_study succeeds in exactly one process, so exactly one worker makes the run and
    stores its id as a study attribute; the others wait up to `wait_s` for it. A study an earlier
    batch sweep made already has a parent: the first worker adopts it.
    """
    from dlforge.errors import UserError
    from dlforge.sweeps.study import PARENT_ATTR

    deadline = time.monotonic() + wait_s
    while PARENT_ATTR not in study.user_attrs:
        if created or time.monotonic() > deadline:
            run = find_study_run(client, experiment, study.study_name)
            if run is None and not created:
                raise UserError(
                    f"study '{study.study_name}' has no MLflow parent run after {wait_s:.0f} s: the worker "
                    "that created the study died before making one; start the workers again"
                )
            run = run or new_parent(client, experiment, study.study_name, overrides, study.study_name)
            study.set_user_attr(PARENT_ATTR, run.info.run_id)
            break
        time.sleep(0.5)
    run_id = study.user_attrs[PARENT_ATTR]
    client.update_run(run_id, status="RUNNING")
    return run_id


class SweepParentRun(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if not config.get("logger"):  # logger=none: trials are not tracked, so neither is the sweep
            return
        client = _client(config)
        study = OmegaConf.select(config, "hydra.sweeper.study_name", default=None)
        run = find_study_run(client, config.tracking.experiment, study) if study else None
        if run is None:
            run = new_parent(client, config.tracking.experiment, study, list(config.hydra.overrides.task), config.name)
        else:
            client.update_run(run.info.run_id, status="RUNNING")
        os.environ[SWEEP_RUN_ENV] = run.info.run_id

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        run_id = os.environ.pop(SWEEP_RUN_ENV, None)
        if run_id:
            _client(config).set_terminated(run_id)
