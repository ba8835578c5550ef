"""A training job's LightningModule and Trainer, built from config (`_target_`s).

The Trainer gets the configured callbacks pointed at the job's checkpoint folder
(dlforge.models.checkpoints), the curves logger (dlforge.tracking.curves) on global rank 0, and, for a
trial of the dlforge Optuna sweeper, its pruning callback.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import pytorch_lightning as pl
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.utilities import rank_zero_only

from dlforge import keys as K
from dlforge.models.checkpoints import Folder
from dlforge.tracking.curves import Curves


def module(model: DictConfig, meta: dict[str, Any], compile: bool) -> tuple[pl.LightningModule, dict[str, Any]]:  # noqa: A002
    """The LightningModule of `model` and its network's config; the shapes come from the data's `meta`."""
    net_config = {**OmegaConf.to_container(model.net, resolve=True), **meta["net"]}
    built = instantiate(model, net=net_config, **meta["module"])
    if compile:
        built.net.compile()  # in place: the same module and state_dict keys, exported as they are
    return built, net_config


def trainer(cfg: DictConfig, folder: Folder, run: Any | None) -> pl.Trainer:
    """The Trainer that fits into `folder` and logs into `run` (a started TrainingRun, or None); in a sweep
    trial, with the pruning callback that stops the fit and marks `run` when Optuna prunes the trial."""
    callbacks = folder.callbacks(
        [instantiate(c) for c in cfg.callbacks.values() if c is not None], run.run_id if run else None
    )
    if cfg.sweep.trial is not None:  # a trial of the dlforge Optuna sweeper
        from dlforge.sweeps.pruning import OptunaPruning

        objective = cfg.sweep.objective.removeprefix(K.BEST)
        on_prune = run.pruned if run else None
        callbacks.append(
            OptunaPruning(cfg.sweep.storage, cfg.sweep.study, cfg.sweep.trial, objective, cfg.sweep.pruner, on_prune)
        )
    loggers = []
    if rank_zero_only.rank == 0 and (run or cfg.curves):  # only global rank 0 logs
        dvclive = OmegaConf.to_container(cfg.curves, resolve=True) if cfg.curves else None
        loggers.append(Curves(folder.curves, folder.epochs_done, run, dvclive))
    quiet()
    return instantiate(
        cfg.trainer, callbacks=callbacks, logger=loggers, default_root_dir=folder.path, plugins=[folder.io]
    )


def quiet() -> None:
    """Hide what Lightning prints on every fit that tells a stage's user nothing: its litlogger tip, the
    resumable checkpoint folder not being empty (it is meant to hold the last checkpoint) and a torch
    deprecation inside Lightning's own code. Matched by message, so every other warning still shows."""
    warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty")
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")
    info = logging.getLogger("pytorch_lightning.utilities.rank_zero")
    if not any(isinstance(f, _NoTips) for f in info.filters):
        info.addFilter(_NoTips())


class _NoTips(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("💡 Tip:")
