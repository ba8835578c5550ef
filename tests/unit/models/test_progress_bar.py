"""dlforge.models.progress_bar.EpochProgressBar: redraws on a clock, shows the fit's epoch and metrics."""

from __future__ import annotations

import functools

import pytest
import pytorch_lightning as pl
import torch
from torch import nn

from dlforge.data.batches import InMemoryDataModule
from dlforge.errors import UserError
from dlforge.models.classifier import Classifier
from dlforge.models.progress_bar import EpochProgressBar


def _fit(bar: EpochProgressBar, epochs: int) -> pl.Trainer:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(300, 4, generator=g), torch.randint(0, 3, (300,), generator=g)
    module = Classifier(
        nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)), functools.partial(torch.optim.Adam), 3
    )
    data = InMemoryDataModule((x, y), (x, y), batch_size=32, eval_batch_size=64, seed=0, batches_per_step=2)
    trainer = pl.Trainer(
        max_epochs=epochs, logger=False, enable_checkpointing=False, enable_model_summary=False, callbacks=[bar]
    )
    trainer.fit(module, datamodule=data)
    return trainer


def test_the_bar_draws_on_its_clock_not_per_batch_or_epoch(capsys):
    """30 epochs of 5 steps well inside one refresh interval: the first line and the final one, nothing between."""
    bar = EpochProgressBar(refresh_s=3600, leave=True)
    trainer = _fit(bar, 30)
    assert trainer.progress_bar_callback is bar  # Lightning added no bar of its own
    assert bar.redraws == 2
    out = capsys.readouterr().out
    assert "epoch 30/30" in out  # left in place (leave=True): the final state, drawn once into the pipe
    assert f"val_loss {trainer.callback_metrics['val_loss']:.4g}" in out


def test_a_short_interval_redraws_as_the_fit_goes():
    bar = EpochProgressBar(refresh_s=1e-9)
    _fit(bar, 3)
    assert bar.redraws == 1 + 3 * 5 + 3 + 1  # start, each step, each epoch's end, the end


def test_a_transient_bar_leaves_nothing_in_a_pipe(capsys):
    _fit(EpochProgressBar(refresh_s=3600), 2)
    assert "epoch" not in capsys.readouterr().out


def test_the_refresh_interval_must_be_positive():
    with pytest.raises(UserError, match=r"callbacks\.progress_bar\.refresh_s.*positive"):
        EpochProgressBar(refresh_s=0)
