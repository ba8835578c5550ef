"""LightningModule for regression: mean squared error on model-ready (scaled) targets, config optimiser."""

from __future__ import annotations

from collections.abc import Callable

import pytorch_lightning as pl
import torch
import torchmetrics
from torch import nn

from dlforge.models.epoch_outputs import EpochOutputs, epoch_values
from dlforge.models.grouped_steps import GroupedSteps


class Regressor(GroupedSteps, pl.LightningModule):
    """Wraps any network that maps inputs to one value per row (shape (n,) or (n, 1)).

    Used by forecasting (next value of a window), recommendation (rating of a (user, item) pair)
    and tabular regression. MAE is a torchmetrics object, so under DDP it is reduced across ranks.
    Each step only keeps its predictions (dlforge.models.epoch_outputs); loss and MAE are logged
    once per epoch. A training step runs several mini-batches (dlforge.models.grouped_steps).
    An ensemble network (`heads(x)` → (batch, k, 1), `reduce(heads)`, as dlforge.models.nets.tabm) trains
    on the mean of its k members' squared errors; validation and serving score the reduced prediction.
    """

    def __init__(self, net: nn.Module, optimizer: Callable[..., torch.optim.Optimizer]):
        super().__init__()
        self.net, self.optimizer_factory = net, optimizer
        self.train_mae, self.val_mae = torchmetrics.MeanAbsoluteError(), torchmetrics.MeanAbsoluteError()
        self.seen = {"train": EpochOutputs(), "val": EpochOutputs()}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).reshape(len(x))

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        x, y = batch
        heads = getattr(self.net, "heads", None)
        if stage == "train" and heads is not None:  # an ensemble: each member's loss, averaged
            members = heads(x).reshape(len(x), -1)  # (batch, k)
            loss = nn.functional.mse_loss(members, y.float()[:, None].expand_as(members))
            pred = self.net.reduce(members[..., None]).reshape(len(x))
        else:
            pred = self(x)
            loss = nn.functional.mse_loss(pred, y.float())
        self.seen[stage].add(loss, pred, y)
        return loss

    def _log_epoch(self, stage: str, mae: torchmetrics.Metric) -> None:
        seen = self.seen[stage].flush()
        if seen is None:
            return
        loss, pred, y = seen
        mae.update(pred, y)
        self.log(f"{stage}_loss", loss, prog_bar=True, sync_dist=True)
        self.log(f"{stage}_mae", epoch_values(mae), prog_bar=stage == "val", sync_dist=True)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def on_train_epoch_end(self) -> None:
        self._log_epoch("train", self.train_mae)

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val", self.val_mae)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return self.optimizer_factory(self.parameters())
