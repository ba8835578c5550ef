"""What a training job changes when it is one trial of a multirun."""

from __future__ import annotations

import os

from omegaconf import DictConfig

from dlforge import keys as K
from dlforge.sweeps.parent_run import SWEEP_RUN_ENV


def as_trial(cfg: DictConfig) -> None:
    """Inside a multirun: tag the run with its trial, overrides and parent; keep its outputs out of models/ and reports/.

    A trial's model and its DVC training curves (paths.reports/training) go to its own job folder
    under the sweep dir, so a sweep never overwrites the pipeline's DVC outputs. Outside a multirun
    nothing changes.
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return
    hydra = HydraConfig.get()
    overrides = [o for o in hydra.overrides.task if not o.startswith("sweep.")]
    tags = {
        K.TRIAL: str(cfg.sweep.trial if cfg.sweep.trial is not None else hydra.job.num),
        K.OVERRIDES: " ".join(overrides),
    }
    if os.environ.get(SWEEP_RUN_ENV):
        tags["mlflow.parentRunId"] = os.environ[SWEEP_RUN_ENV]
    cfg.tracking.tags = {**cfg.tracking.tags, **tags}
    if cfg.sweep.trial is not None:  # the pruner decides in this job, so it needs the sweeper's settings
        cfg.sweep.pruner = hydra.sweeper.get("pruner")
    cfg.paths.models = os.path.join(hydra.runtime.output_dir, "model")
    cfg.paths.reports = os.path.join(hydra.runtime.output_dir, "reports")
