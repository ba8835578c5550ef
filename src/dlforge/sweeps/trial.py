"""What a training job changes when it is one trial of a sweep (a Hydra multirun, or a sweep worker's trial)."""

from __future__ import annotations

import os

from omegaconf import DictConfig

from dlforge import keys as K
from dlforge.sweeps.parent_run import SWEEP_RUN_ENV


def as_trial(cfg: DictConfig) -> None:
    """Inside a multirun: tag the run with its trial, overrides and parent; keep its outputs out of models/ and reports/.

    Outside a multirun nothing changes (a sweep worker calls `mark` itself: it composes its trials'
    configs with Hydra's compose API, inside a run of its own).
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return
    hydra = HydraConfig.get()
    mark(
        cfg,
        cfg.sweep.trial if cfg.sweep.trial is not None else hydra.job.num,
        hydra.overrides.task,
        os.environ.get(SWEEP_RUN_ENV),
        hydra.sweeper.get("pruner"),
        hydra.runtime.output_dir,
    )


def mark(cfg: DictConfig, number: int, overrides: list[str], parent: str | None, pruner, out_dir: str) -> None:
    """Make `cfg` train trial `number`: tags (trial, overrides, MLflow parent run), the sweep's pruner, own outputs.

    A trial's model and its DVC training curves (paths.reports/training) go to `out_dir`, so a sweep
    never overwrites the pipeline's DVC outputs.
    """
    tags = {K.TRIAL: str(number), K.OVERRIDES: " ".join(o for o in overrides if not o.startswith("sweep."))}
    if parent:
        tags["mlflow.parentRunId"] = parent
    cfg.tracking.tags = {**cfg.tracking.tags, **tags}
    if cfg.sweep.trial is not None:  # the pruner decides in this job, so it needs the sweeper's settings
        cfg.sweep.pruner = pruner
    cfg.paths.models = os.path.join(out_dir, "model")
    cfg.paths.reports = os.path.join(out_dir, "reports")
