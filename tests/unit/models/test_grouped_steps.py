"""Several mini-batches per Lightning step train exactly as one per step (dlforge.models.grouped_steps)."""

from __future__ import annotations

import functools

import pytest
import pytorch_lightning as pl
import torch
from torch import nn

from dlforge.data.batches import InMemoryDataModule
from dlforge.errors import UserError
from dlforge.models.classifier import Classifier
from dlforge.models.finite_loss import FiniteLoss
from dlforge.models.regressor import Regressor


def _fit(module: pl.LightningModule, x, y, per_step: int, callbacks=()) -> pl.Trainer:
    """Two epochs over 300 rows in batches of 32 (10 mini-batches, the last one short)."""
    data = InMemoryDataModule((x, y), (x, y), batch_size=32, eval_batch_size=64, seed=0, batches_per_step=per_step)
    trainer = pl.Trainer(
        max_epochs=2,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        deterministic=True,
        callbacks=list(callbacks),
    )
    trainer.fit(module, datamodule=data)
    return trainer


def _module(kind: str, seed: int = 0) -> pl.LightningModule:
    torch.manual_seed(seed)
    adam = functools.partial(torch.optim.Adam, lr=0.01)
    if kind == "classifier":
        return Classifier(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)), adam, 3)
    return Regressor(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)), adam)


def _data(kind: str):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(300, 4, generator=g)
    y = torch.randint(0, 3, (300,), generator=g) if kind == "classifier" else torch.randn(300, generator=g)
    return x, y


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("per_step", [3, 16])
def test_grouped_steps_give_the_same_weights_curves_and_step_count(kind, per_step):
    x, y = _data(kind)
    one, grouped = _module(kind), _module(kind)
    t_one, t_grouped = _fit(one, x, y, 1), _fit(grouped, x, y, per_step)
    assert t_one.global_step == t_grouped.global_step == 20  # optimiser steps, not Lightning steps
    assert t_grouped.num_training_batches == -(-10 // per_step)
    for a, b in zip(one.state_dict().values(), grouped.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert {k: float(v) for k, v in t_one.callback_metrics.items()} == {
        k: float(v) for k, v in t_grouped.callback_metrics.items()
    }


def test_a_non_finite_loss_inside_a_group_names_its_mini_batch():
    x, y = _data("regressor")
    y = y.clone()
    order = torch.randperm(300, generator=torch.Generator().manual_seed(0))  # epoch 0's permutation (seed 0)
    y[order[32 * 5]] = float("inf")  # first row of mini-batch 5: the middle of the second group of 3
    with pytest.raises(UserError, match=r"at epoch 0 step 6 \(batch 5\)"):
        _fit(_module("regressor"), x, y, 3, [FiniteLoss()])


def test_batches_per_step_must_be_positive():
    x, y = _data("classifier")
    with pytest.raises(UserError, match="train.batches_per_step"):
        InMemoryDataModule((x, y), (x, y), batch_size=32, eval_batch_size=64, seed=0, batches_per_step=0)
