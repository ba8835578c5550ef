"""The per-epoch curves are exact: the loss is the row-weighted mean of the epoch, the metrics cover all its rows."""

from __future__ import annotations

import functools

import pytest
import pytorch_lightning as pl
import torch
import torchmetrics
from torch import nn

from dlforge.data.batches import InMemoryDataModule
from dlforge.models.classifier import Classifier
from dlforge.models.regressor import Regressor


def _fit(module: pl.LightningModule, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """One epoch with lr=0 (weights fixed), 300 rows in batches of 64 (the last one short)."""
    data = InMemoryDataModule((x, y), (x, y), batch_size=64, eval_batch_size=64, seed=0)
    trainer = pl.Trainer(
        max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False
    )
    trainer.fit(module, datamodule=data)
    return {k: float(v) for k, v in trainer.callback_metrics.items()}


@pytest.mark.parametrize("classes", [2, 3])
def test_classifier_epoch_curves_cover_every_row(classes):
    torch.manual_seed(0)
    x, y = torch.randn(300, 4), torch.randint(0, classes, (300,))
    net = nn.Linear(4, classes)
    module = Classifier(net, functools.partial(torch.optim.SGD, lr=0.0), classes)
    metrics = _fit(module, x, y)
    with torch.no_grad():
        logits = net(x)
    probs = logits.softmax(-1)
    task = "binary" if classes == 2 else "multiclass"
    auroc = torchmetrics.functional.auroc(probs[:, 1] if classes == 2 else probs, y, task=task, num_classes=classes)
    assert metrics["val_loss"] == pytest.approx(float(nn.functional.cross_entropy(logits, y)), rel=1e-5)
    assert metrics["train_loss"] == pytest.approx(metrics["val_loss"], rel=1e-5)  # same rows, fixed weights
    acc = torchmetrics.functional.accuracy(probs[:, 1] if classes == 2 else probs, y, task=task, num_classes=classes)
    assert metrics["val_auroc"] == pytest.approx(float(auroc), rel=1e-5)
    assert metrics["val_acc"] == pytest.approx(float(acc), rel=1e-6)
    assert metrics["train_auroc"] == pytest.approx(metrics["val_auroc"], rel=1e-5)
    assert metrics["train_acc"] == pytest.approx(metrics["val_acc"], rel=1e-6)


def test_regressor_epoch_curves_cover_every_row():
    torch.manual_seed(0)
    x, y = torch.randn(300, 3), torch.randn(300)
    net = nn.Linear(3, 1)
    metrics = _fit(Regressor(net, functools.partial(torch.optim.SGD, lr=0.0)), x, y)
    with torch.no_grad():
        pred = net(x).reshape(-1)
    assert metrics["val_loss"] == pytest.approx(float(nn.functional.mse_loss(pred, y)), rel=1e-5)
    assert metrics["val_mae"] == pytest.approx(float((pred - y).abs().mean()), rel=1e-5)
    assert metrics["train_mae"] == pytest.approx(metrics["val_mae"], rel=1e-5)
