"""Report each epoch's validation metric to the trial's Optuna study; stop when Optuna says prune.

Works across processes (the trial lives in the study's storage) and under DDP: global rank 0
reports, and its decision is broadcast so every rank stops together. A multi-objective study is
never pruned (Optuna takes no intermediate values there): nothing is reported. When the trial is
pruned, `on_prune` (the training run's `pruned`, on the rank that logs) marks its MLflow run.
"""

from __future__ import annotations

from collections.abc import Callable

import pytorch_lightning as pl

from dlforge.sweeps.storage import to_connect
from dlforge.sweeps.study import storage as open_storage


class OptunaPruning(pl.Callback):
    def __init__(
        self,
        storage: str,
        study: str,
        trial: int,
        monitor: str,
        pruner: dict | None = None,
        on_prune: Callable[[], None] | None = None,
    ):
        self.storage, self.study, self.trial_number, self.monitor, self.pruner = storage, study, trial, monitor, pruner
        self.on_prune = on_prune
        self.trial = None
        self.pruned = False

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero:
            import optuna
            from hydra.utils import instantiate

            pruner = instantiate(self.pruner) if self.pruner else optuna.pruners.NopPruner()
            # the config shows the URL without its password; get_storage makes a URL a storage object
            storage = optuna.storages.get_storage(open_storage(to_connect(self.storage)))
            study = optuna.load_study(study_name=self.study, storage=storage, pruner=pruner)
            if len(study.directions) == 1:  # the trial's id, through the storage's public API
                study_id = storage.get_study_id_from_name(self.study)
                trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, self.trial_number)
                self.trial = optuna.trial.Trial(study, trial_id)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        prune = False
        if trainer.is_global_zero and self.trial is not None and self.monitor in trainer.callback_metrics:
            self.trial.report(float(trainer.callback_metrics[self.monitor]), step=trainer.current_epoch)
            prune = self.trial.should_prune()
        if trainer.strategy.broadcast(prune, src=0):
            self.pruned = True
            trainer.should_stop = True
            if self.on_prune:
                self.on_prune()
