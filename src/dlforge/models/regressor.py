"""LightningModule for regression: mean squared error on model-ready (scaled) targets, config optimiser."""

from __future__ import annotations

from collections.abc import Callable

import pytorch_lightning as pl
import torch
import torchmetrics
from torch import nn


class Regressor(pl.LightningModule):
    """Wraps any network that maps inputs to one value per row (shape (n,) or (n, 1)).

    Used by forecasting (next value of a window), recommendation (rating of a (user, item) pair)
    and tabular regression. MAE is a torchmetrics object, so under DDP it is reduced across ranks.
    """

    def __init__(self, net: nn.Module, optimizer: Callable[..., torch.optim.Optimizer]):
        super().__init__()
        self.net, self.optimizer_factory = net, optimizer
        self.train_mae, self.val_mae = torchmetrics.MeanAbsoluteError(), torchmetrics.MeanAbsoluteError()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).reshape(len(x))

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str, mae: torchmetrics.Metric) -> torch.Tensor:
        x, y = batch
        pred = self(x)
        loss = nn.functional.mse_loss(pred, y.float())
        mae.update(pred, y)
        self.log(f"{stage}_loss", loss, on_step=False, on_epoch=True, prog_bar=True, sync_dist=True, batch_size=len(y))
        self.log(f"{stage}_mae", mae, on_step=False, on_epoch=True, prog_bar=stage == "val")
        return loss

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train", self.train_mae)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val", self.val_mae)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return self.optimizer_factory(self.parameters())
