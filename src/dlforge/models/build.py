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


def trainer(cfg: DictConfig, folder: Folder, run: Any | None) -> tuple[pl.Trainer, Any | None]:
    """The Trainer that fits into `folder` and logs into `run` (a started TrainingRun, or None); and the
    sweep trial's pruning callback (None outside a sweep), which says whether the trial was pruned."""
    configured = [instantiate(c) for c in cfg.callbacks.values() if c is not None]
    callbacks = folder.callbacks(configured, run.run_id if run else None)
    pruning = None
    if cfg.sweep.trial is not None:  # a trial of the dlforge Optuna sweeper
        from dlforge.sweeps.pruning import OptunaPruning

        pruning = OptunaPruning(
            cfg.sweep.storage,
            cfg.sweep.study,
            cfg.sweep.trial,
            cfg.sweep.objective.removeprefix(K.BEST),
            cfg.sweep.pruner,
        )
        callbacks.append(pruning)
    loggers = []
    if rank_zero_only.rank == 0 and (run or cfg.curves):  # only global rank 0 logs
        dvclive = OmegaConf.to_container(cfg.curves, resolve=True) if cfg.curves else None
        loggers.append(Curves(folder.curves, folder.epochs_done, run, dvclive))
    quiet()
    built = instantiate(
        cfg.trainer, callbacks=callbacks, logger=loggers, default_root_dir=folder.path, plugins=[folder.io]
    )
    return built, pruning


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
