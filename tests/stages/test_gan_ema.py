"""The served generator is the moving average of the trained one, and a resumed fit continues that average.

Real Lightning fits of the conditional DCGAN: on digits_gan through the train stage (export), and on a
few random 8x8 images with a Trainer stopped after one epoch and resumed from its last checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from pytorch_lightning.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader, TensorDataset

from conftest import CONF
from dlforge.models.checkpoints import RngState
from dlforge.models.export import load_net
from dlforge.models.gan import GAN
from dlforge.models.nets.dcgan import Discriminator, Generator
from pipelines import prepare, train

DECAY = 0.9  # a short average: two digits_gan epochs (40 steps) move it well away from its start


class Trajectory(pl.Callback):
    """Records the trained generator's weights after every step and the step count at each epoch's end
    (class attributes: the train stage builds the callback from config)."""

    steps: list[dict[str, torch.Tensor]] = []
    epoch_ends: list[int] = []

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args) -> None:
        Trajectory.steps.append({k: v.detach().clone() for k, v in pl_module.generator.state_dict().items()})

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        Trajectory.epoch_ends.append(len(Trajectory.steps))


def moving_average(steps: list[dict[str, torch.Tensor]], decay: float) -> dict[str, torch.Tensor]:
    """The exponential moving average written out: it starts at the first step's weights."""
    average = {k: v.double() for k, v in steps[0].items()}
    for state in steps[1:]:
        average = {k: decay * average[k] + (1 - decay) * state[k].double() for k in average}
    return average


@pytest.mark.slow  # prepares digits_gan (its judge) and trains two epochs
def test_the_exported_generator_is_the_moving_average_of_the_trained_one(tmp_path):
    overrides = [
        "experiment=digits_gan",
        "logger=none",
        "callbacks.progress_bar=null",
        "callbacks.sample_grid=null",
        "+callbacks.trajectory={_target_: test_gan_ema.Trajectory}",
        "data.judge_max_iter=30",
        "trainer.max_epochs=2",
        f"model.ema_decay={DECAY}",
        f"paths.prepared={tmp_path}/data",
        f"paths.models={tmp_path}/models",
        f"paths.checkpoints={tmp_path}/checkpoints",
    ]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    prepare.run(cfg)
    Trajectory.steps, Trajectory.epoch_ends = [], []
    train.run(cfg)

    best_epoch = json.loads((tmp_path / "models/run.json").read_text())["best_epoch"]
    steps = Trajectory.steps[: Trajectory.epoch_ends[best_epoch]]
    expected, trained = moving_average(steps, DECAY), steps[-1]
    exported = load_net(tmp_path / "models/model.pt").state_dict()
    floats = [k for k, v in exported.items() if v.is_floating_point()]  # not batch norm's step counter
    assert exported.keys() == trained.keys() and len(floats) > 10
    for k in floats:
        assert torch.allclose(exported[k].double(), expected[k], atol=1e-5), k
    assert max((exported[k] - trained[k]).abs().max() for k in floats) > 1e-3  # not the trained generator itself


def tiny_gan(decay: float) -> GAN:
    gen = Generator([1, 8, 8], 3, latent_dim=8, channels=[16, 8])
    return GAN(gen, lambda **shape: Discriminator(**shape, channels=[8, 16]), torch.optim.Adam, ema_decay=decay)


def fit(folder: Path, epochs: int, resume: Path | None = None) -> GAN:
    """A fresh seeded GAN fitted on the same 96 random images (unshuffled) up to `epochs`, from `resume` if given."""
    pl.seed_everything(0, verbose=False)
    images = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (96, 1, 8, 8)).astype(np.float32))
    data = DataLoader(TensorDataset(images, torch.arange(96) % 3), batch_size=16)
    model = tiny_gan(DECAY)
    trainer = pl.Trainer(
        max_epochs=epochs,
        callbacks=[RngState(), ModelCheckpoint(dirpath=folder, save_last=True)],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        accelerator="cpu",
    )
    trainer.fit(model, train_dataloaders=data, ckpt_path=resume, weights_only=True)
    return model


def test_a_fit_resumed_from_its_checkpoint_continues_the_same_moving_average(tmp_path):
    straight = fit(tmp_path / "straight", epochs=2)
    fit(tmp_path / "stopped", epochs=1)
    checkpoint = torch.load(tmp_path / "stopped/last.ckpt", map_location="cpu", weights_only=True)
    assert checkpoint["state_dict"]["ema.n_averaged"] == 6  # one update per generator step: 96 / 16
    resumed = fit(tmp_path / "stopped", epochs=2, resume=tmp_path / "stopped/last.ckpt")

    assert int(resumed.ema.n_averaged) == int(straight.ema.n_averaged) == 12
    for (k, a), b in zip(resumed.net.state_dict().items(), straight.net.state_dict().values()):
        assert torch.equal(a, b), k
    gap = max((a - b).abs().max() for a, b in zip(resumed.net.parameters(), resumed.generator.parameters()))
    assert gap > 1e-4  # the served average is not the trained generator
