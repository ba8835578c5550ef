"""GAN training callbacks: a validation Fréchet distance to pick the best epoch, and sample grids in MLflow.

Both draw their noise from fixed seeds (dlforge.models.nets.dcgan.latent), never from the global
random state, so adding or removing them does not change what is trained.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytorch_lightning as pl

from dlforge.data import prepared as prepared_data
from dlforge.models.nets.dcgan import Judge, frechet_distance, tile


class ValFrechet(pl.Callback):
    """Logs `monitor`: the Fréchet distance (frozen judge's features) between generated and real val images.

    One image is generated per val image, with its label and a fixed seed, so the figure moves only
    when the generator does; ModelCheckpoint can monitor it (mode: min).
    """

    def __init__(self, prepared: str, monitor: str = "val_fd", first_seed: int = 1_000_000):
        self.prepared, self.monitor, self.first_seed = prepared, monitor, first_seed

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        data = prepared_data.load(self.prepared)
        self.real, self.labels = data.raw("val"), data.targets("val")
        self.pre, self.judge = data.preprocessor(), Judge(data.extras())

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        seeds = self.first_seed + np.arange(len(self.labels))
        fake = self.pre.to_pixels(pl_module.net.sample(seeds, self.labels).cpu().numpy())
        pl_module.log(self.monitor, frechet_distance(self.judge, fake, self.real), prog_bar=True, sync_dist=True)


class SampleGrid(pl.Callback):
    """After each validation, a PNG grid of samples (one row per class, `per_class` columns) → MLflow `folder/`.

    Runs on global rank 0 only and only inside the training's MLflow run (dlforge.tracking.training_run); the same seeds every
    epoch, so the grids show the same noise vectors becoming digits.
    """

    def __init__(self, per_class: int = 8, seed: int = 0, folder: str = "samples"):
        self.per_class, self.seed, self.folder = per_class, seed, folder

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        import mlflow

        if not trainer.is_global_zero or mlflow.active_run() is None or trainer.sanity_checking:
            return
        from matplotlib.image import imsave

        net = pl_module.net
        rows = net.labels or self.per_class  # an unconditional generator: a square of samples
        labels = np.repeat(np.arange(rows), self.per_class) % max(net.labels, 1)
        images = (net.sample(self.seed + np.arange(len(labels)), labels).cpu().numpy()[:, 0] + 1) / 2
        with tempfile.TemporaryDirectory(prefix="dlforge-samples-") as tmp:
            path = Path(tmp) / f"epoch_{trainer.current_epoch:03d}.png"
            imsave(path, tile(images.clip(0, 1), self.per_class), cmap="gray", vmin=0, vmax=1)
            mlflow.log_artifact(str(path), self.folder)
