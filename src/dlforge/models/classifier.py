"""LightningModule for classification: cross-entropy, per-epoch train/val curves, config optimiser."""

from __future__ import annotations

from collections.abc import Callable

import pytorch_lightning as pl
import torch
import torchmetrics
from torch import nn


class Classifier(pl.LightningModule):
    """Wraps any network that maps inputs to one logit per class.

    Metrics are torchmetrics objects, so under DDP they are reduced across ranks before logging.
    """

    def __init__(self, net: nn.Module, optimizer: Callable[..., torch.optim.Optimizer], num_classes: int):
        super().__init__()
        self.net, self.optimizer_factory = net, optimizer
        task = "binary" if num_classes == 2 else "multiclass"
        metrics = lambda prefix: torchmetrics.MetricCollection(  # noqa: E731
            {"acc": torchmetrics.Accuracy(task=task, num_classes=num_classes), "auroc": torchmetrics.AUROC(task=task, num_classes=num_classes)}, prefix=prefix
        )
        self.train_metrics, self.val_metrics = metrics("train_"), metrics("val_")
        self.binary = num_classes == 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str, metrics: torchmetrics.MetricCollection) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = nn.functional.cross_entropy(logits, y)
        probs = logits.softmax(-1)
        metrics.update(probs[:, 1] if self.binary else probs, y)
        # Lightning computes, syncs and resets the metric objects at epoch end, at the same point on every rank.
        self.log(f"{stage}_loss", loss, on_step=False, on_epoch=True, prog_bar=True, sync_dist=True, batch_size=len(y))
        self.log_dict(metrics, on_step=False, on_epoch=True, prog_bar=stage == "val")
        return loss

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train", self.train_metrics)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val", self.val_metrics)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return self.optimizer_factory(self.parameters())
