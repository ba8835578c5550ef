"""LightningModule for a (conditional) DCGAN: alternating discriminator/generator steps, manual optimisation.

`self.net` is the generator, so the train stage exports exactly the network the served model runs;
the discriminator only exists during training. Which epoch is kept is decided by the validation
Fréchet distance (dlforge.models.gan_callbacks.ValFrechet), not by the adversarial losses, which
say little about image quality.
"""

from __future__ import annotations

from collections.abc import Callable

import pytorch_lightning as pl
import torch
from torch import nn

from dlforge.models.nets.dcgan import Generator


class GAN(pl.LightningModule):
    """Non-saturating GAN loss with one-sided label smoothing (`real_label` < 1 for real images).

    `discriminator` is a partial network constructor; it gets the generator's image shape and label
    count, so a conditional generator always meets a conditional discriminator.
    """

    def __init__(
        self,
        net: Generator,
        discriminator: Callable[..., nn.Module],
        optimizer: Callable[..., torch.optim.Optimizer],
        real_label: float = 0.9,
    ):
        super().__init__()
        self.automatic_optimization = False
        self.net, self.optimizer_factory, self.real_label = net, optimizer, real_label
        self.discriminator = discriminator(in_shape=net.in_shape, num_classes=net.labels)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(z, y)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        opt_g, opt_d = self.optimizers()
        bce = nn.functional.binary_cross_entropy_with_logits
        fake = self(torch.randn(len(x), self.net.latent_dim, device=self.device), y)  # same labels as the real batch

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
        return [self.optimizer_factory(self.net.parameters()), self.optimizer_factory(self.discriminator.parameters())]
