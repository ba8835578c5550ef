"""LightningModule for classification: cross-entropy, per-epoch train/val curves, config optimiser."""

from __future__ import annotations

from collections.abc import Callable

import pytorch_lightning as pl
import torch
import torchmetrics
from torch import nn

from dlforge.models.auroc import MulticlassAUROC
from dlforge.models.epoch_outputs import EpochOutputs, epoch_values
from dlforge.models.grouped_steps import GroupedSteps


class Classifier(GroupedSteps, pl.LightningModule):
    """Wraps any network that maps inputs to one logit per class.

    An ensemble network (one with `heads(x)` → (batch, k, classes) and `reduce(heads)` → logits, as
    dlforge.models.nets.tabm) trains on the mean of its k members' cross-entropies; validation and
    serving score `forward`, the reduced prediction, so the checkpoint is chosen on what is served.

    Metrics are torchmetrics objects, so under DDP they are reduced across ranks before logging.
    Each step only keeps its logits (dlforge.models.epoch_outputs); the metrics are updated and
    logged once per epoch, which is where the curves have their points anyway. A training step runs
    several mini-batches (dlforge.models.grouped_steps).
    """

    def __init__(self, net: nn.Module, optimizer: Callable[..., torch.optim.Optimizer], num_classes: int):
        super().__init__()
        self.net, self.optimizer_factory = net, optimizer
        task = "binary" if num_classes == 2 else "multiclass"
        # validate_args=False: torchmetrics would check every epoch that the targets are class indices (a
        # torch.unique over all rows); prepare wrote them, and cross_entropy already rejects one out of range

        def metrics(prefix: str) -> torchmetrics.MetricCollection:
            return torchmetrics.MetricCollection(
                {
                    "acc": torchmetrics.Accuracy(task=task, num_classes=num_classes, validate_args=False),
                    "auroc": MulticlassAUROC(num_classes, validate_args=False)  # all classes at once
                    if task == "multiclass"
                    else torchmetrics.AUROC(task=task, validate_args=False),
                },
                prefix=prefix,
            )

        self.train_metrics, self.val_metrics = metrics("train_"), metrics("val_")
        self.seen = {"train": EpochOutputs(), "val": EpochOutputs()}
        self.binary = num_classes == 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def setup(self, stage: str) -> None:
        """A network with `init_from_train(x, y)` starts from statistics of the whole train split (every rank
        sees the same tensors). Lightning calls this before it restores a checkpoint, so a resumed fit keeps
        its saved weights."""
        init = getattr(self.net, "init_from_train", None)
        if stage == "fit" and init is not None:
            init(*self.trainer.datamodule.train)

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        x, y = batch
        heads = getattr(self.net, "heads", None)
        if stage == "train" and heads is not None:  # an ensemble: each member's loss, averaged
            members = heads(x)  # (batch, k, classes)
            loss = nn.functional.cross_entropy(members.flatten(0, 1), y.repeat_interleave(members.shape[1]))
            logits = self.net.reduce(members)
        else:
            logits = self(x)
            loss = nn.functional.cross_entropy(logits, y)
        self.seen[stage].add(loss, logits, y)
        return loss

    def _log_epoch(self, stage: str, metrics: torchmetrics.MetricCollection) -> None:
        seen = self.seen[stage].flush()
        if seen is None:
            return
        loss, logits, y = seen
        logits = logits.float()
        # two classes: P(class 1) = sigmoid(logit 1 - logit 0), the softmax's second column, cheaper
        probs = (logits[:, 1] - logits[:, 0]).sigmoid() if self.binary else logits.softmax(-1)
        metrics.update(probs, y)
        self.log(f"{stage}_loss", loss, prog_bar=True, sync_dist=True)
        self.log_dict(epoch_values(metrics), prog_bar=stage == "val", sync_dist=True)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def on_train_epoch_end(self) -> None:
        self._log_epoch("train", self.train_metrics)

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val", self.val_metrics)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return self.optimizer_factory(self.parameters())
