"""LightningModule for a (conditional) DCGAN: alternating discriminator/generator steps, manual optimisation.

`self.net` is the generator the train stage exports and the served model runs: with `ema_decay`, an
exponential moving average of the trained generator's weights (torch.optim.swa_utils.AveragedModel),
which smooths the adversarial game's oscillations out of the samples; without, the trained generator
itself. The averaged weights are part of the module's state_dict, so every checkpoint carries them
(a resumed fit continues the same average) and the best checkpoint holds the average that was
validated. The discriminator only exists during training. Which epoch is kept is decided by the
validation Fréchet distance of `self.net` (dlforge.models.gan_callbacks.ValFrechet), not by the
adversarial losses, which say little about image quality.
"""

from __future__ import annotations

from collections.abc import Callable

import pytorch_lightning as pl
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from dlforge.models.nets.dcgan import Generator


class GAN(pl.LightningModule):
    """Non-saturating GAN loss with one-sided label smoothing (`real_label` < 1 for real images).

    `discriminator` is a partial network constructor; it gets the generator's image shape and label
    count, so a conditional generator always meets a conditional discriminator. `ema_decay` (None: no
    average) weighs the previous average at each generator step, buffers (batch-norm statistics) included.
    """

    def __init__(
        self,
        net: Generator,
        discriminator: Callable[..., nn.Module],
        optimizer: Callable[..., torch.optim.Optimizer],
        real_label: float = 0.9,
        ema_decay: float | None = None,
    ):
        super().__init__()
        self.automatic_optimization = False
        self.generator, self.optimizer_factory, self.real_label = net, optimizer, real_label
        self.discriminator = discriminator(in_shape=net.in_shape, num_classes=net.labels)
        self.ema = None
        if ema_decay is not None:
            ema = get_ema_multi_avg_fn(ema_decay)
            self.ema = AveragedModel(net, multi_avg_fn=ema, use_buffers=True).requires_grad_(False)

    @property
    def net(self) -> Generator:
        """The generator that is validated, checkpointed, exported and served."""
        return self.generator if self.ema is None else self.ema.module

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(z, y)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        opt_g, opt_d = self.optimizers()
        bce = nn.functional.binary_cross_entropy_with_logits
        z = torch.randn(len(x), self.generator.latent_dim, device=self.device)
        fake = self.generator(z, y)  # same labels as the real batch

        d_real, d_fake = self.discriminator(x, y), self.discriminator(fake.detach(), y)
        loss_d = bce(d_real, torch.full_like(d_real, self.real_label)) + bce(d_fake, torch.zeros_like(d_fake))
        opt_d.zero_grad()
        self.manual_backward(loss_d)
        opt_d.step()

        d_on_fake = self.discriminator(fake, y)
        loss_g = bce(d_on_fake, torch.ones_like(d_on_fake))
        opt_g.zero_grad()
        self.manual_backward(loss_g)
        opt_g.step()
        if self.ema is not None:
            self.ema.update_parameters(self.generator)

        logs = {
            "train_d_loss": loss_d,
            "train_g_loss": loss_g,
            "train_d_real": d_real.sigmoid().mean(),
            "train_d_fake": d_fake.sigmoid().mean(),
        }
        self.log_dict(logs, on_step=False, on_epoch=True, prog_bar=True, sync_dist=True, batch_size=len(x))

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        """How real the discriminator finds held-out real images (the val Fréchet distance comes from a callback)."""
        x, y = batch
        self.log(
            "val_d_real",
            self.discriminator(x, y).sigmoid().mean(),
            on_step=False,
            on_epoch=True,
            sync_dist=True,
            batch_size=len(x),
        )

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        return [
            self.optimizer_factory(self.generator.parameters()),
            self.optimizer_factory(self.discriminator.parameters()),
        ]
