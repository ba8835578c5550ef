"""Stop training at the first non-finite training loss, naming the epoch and the step.

A NaN or infinite loss means every later step trains on garbage (and early stopping would keep the
last finite checkpoint as if nothing happened). The callback raises a UserError instead: the MLflow
run ends FAILED, the train stage writes nothing, so nothing can be evaluated or registered.
"""

from __future__ import annotations

import math
from typing import Any

import pytorch_lightning as pl

from dlforge.errors import UserError


class FiniteLoss(pl.Callback):
    """Raise UserError when the training loss of a batch is NaN or infinite."""

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if isinstance(outputs, dict) and "batch" in outputs:  # a step of several mini-batches: the failing one
            batch_idx = outputs["batch"]
        if loss is None:
            return
        value = float(loss.detach()) if hasattr(loss, "detach") else float(loss)
        if not math.isfinite(value):
            raise UserError(
                f"training loss is {value} at epoch {trainer.current_epoch} step {trainer.global_step} "
                f"(batch {batch_idx}); expected a finite loss: lower model.optimizer.lr or check the data for extreme values"
            )
