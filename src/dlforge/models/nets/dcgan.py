"""DCGAN networks for small single-channel images, the noise they start from, and the frozen judge.

The same `in_shape`/`num_classes` shape arguments (from the prepared data) size both networks for
8×8 digits or 28×28 MNIST: each block doubles (generator) or halves (discriminator) the image, so
the image side must be divisible by 2**len(channels). Conditional networks see the label as a
one-hot vector (generator) or as one-hot image planes (discriminator).

The judge (a classifier fitted at prepare time, dlforge.data.families.image_generation) lives here because the
train stage (validation Fréchet distance) and evaluate/register (test metrics) both use it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from dlforge.errors import UserError
from dlforge.keys import JUDGE_B, JUDGE_SCALE, JUDGE_W


def latent(seeds: np.ndarray, dim: int) -> torch.Tensor:
    """One standard-normal noise vector per seed; the same seed gives the same vector on any machine."""
    rows = [np.random.default_rng(int(s)).standard_normal(dim) for s in seeds]
    return torch.from_numpy(np.asarray(rows, dtype=np.float32).reshape(len(rows), dim))


def _start_side(side: int, blocks: int) -> int:
    if side % 2**blocks:
        raise UserError(
            f"config key 'model.net.channels': {blocks} blocks need an image side divisible by {2**blocks}, got {side}"
        )
    return side // 2**blocks


class Generator(nn.Module):
    """Noise (+ one-hot label) → linear → (channels[0], H/2^b, W/2^b) → b transposed-conv blocks → tanh image."""

    def __init__(
        self, in_shape: list[int], num_classes: int, latent_dim: int, channels: list[int], conditional: bool = True
    ):
        super().__init__()
        self.in_shape, self.latent_dim = list(in_shape), latent_dim
        self.labels = num_classes if conditional else 0  # 0: an unconditional generator ignores labels
        c, h, w = in_shape
        self.start = (channels[0], _start_side(h, len(channels)), _start_side(w, len(channels)))
        self.project = nn.Sequential(
            nn.Linear(latent_dim + self.labels, int(np.prod(self.start))),
            nn.BatchNorm1d(int(np.prod(self.start))),
            nn.ReLU(),
        )
        layers: list[nn.Module] = []
        for c_in, c_out in zip(channels, channels[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out), nn.ReLU()]
        layers += [nn.ConvTranspose2d(channels[-1], c, 4, 2, 1), nn.Tanh()]
        self.blocks = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.labels:
            z = torch.cat([z, nn.functional.one_hot(y, self.labels).to(z.dtype)], 1)
        return self.blocks(self.project(z).view(len(z), *self.start))

    def sample(self, seeds: np.ndarray, labels: np.ndarray) -> torch.Tensor:
        """Images in [-1, 1], shape (n, C, H, W), for noise drawn from each seed and the given label indices."""
        device = self.project[0].weight.device
        return self(
            latent(seeds, self.latent_dim).to(device), torch.tensor(np.asarray(labels), dtype=torch.long, device=device)
        )


class Discriminator(nn.Module):
    """Image (+ one-hot label planes) → strided conv blocks with LeakyReLU → one real/fake logit."""

    def __init__(self, in_shape: list[int], num_classes: int, channels: list[int], dropout: float = 0.0):
        super().__init__()
        self.labels = num_classes
        c, h, w = in_shape
        layers: list[nn.Module] = []
        c_in = c + num_classes
        for i, c_out in enumerate(channels):
            layers += [
                nn.Conv2d(c_in, c_out, 4, 2, 1),
                *([nn.BatchNorm2d(c_out)] if i else []),
                nn.LeakyReLU(0.2),
                nn.Dropout(dropout),
            ]
            c_in = c_out
        side = _start_side(h, len(channels)) * _start_side(w, len(channels))
        self.body = nn.Sequential(*layers, nn.Flatten(), nn.Linear(c_in * side, 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.labels:
            planes = nn.functional.one_hot(y, self.labels).to(x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[2:])
            x = torch.cat([x, planes], 1)
        return self.body(x).reshape(len(x))


class Judge(nn.Module):
    """The frozen prepare-time classifier (ReLU MLP) on raw-unit images: penultimate features and class probabilities."""

    def __init__(self, extras: dict[str, np.ndarray]):
        super().__init__()
        n = sum(k.startswith(JUDGE_W.format("")) for k in extras)
        if not n:
            raise UserError(
                "prepared data has no frozen judge (extras.npz judge_w*): run prepare with a generation data spec"
            )
        self.layers = nn.ModuleList()
        for i in range(n):
            w, b = extras[JUDGE_W.format(i)], extras[JUDGE_B.format(i)]
            layer = nn.Linear(*w.shape).double().requires_grad_(False)
            layer.weight.copy_(torch.from_numpy(w.T.astype(np.float64)))
            layer.bias.copy_(torch.from_numpy(b.astype(np.float64)))
            self.layers.append(layer)
        self.scale = float(extras[JUDGE_SCALE])
        self.num_features = self.layers[-1].in_features  # read by torchmetrics' Fréchet distance

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer activations (the Fréchet distance's feature space)."""
        h = images.reshape(len(images), -1).double() * self.scale
        for layer in self.layers[:-1]:
            h = layer(h).relu()
        return h

    def proba(self, images: torch.Tensor) -> torch.Tensor:
        logits = self.layers[-1](self(images))
        return torch.cat([-logits, logits], 1).sigmoid() if logits.shape[1] == 1 else logits.softmax(1)


def frechet_distance(judge: Judge, fake: np.ndarray, real: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to the judge's features of two image sets (raw pixel units)."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    fid = FrechetInceptionDistance(feature=judge)
    with torch.inference_mode():
        fid.update(torch.as_tensor(np.asarray(real), dtype=torch.float64), real=True)
        fid.update(torch.as_tensor(np.asarray(fake), dtype=torch.float64), real=False)
        return max(float(fid.compute()), 0.0)  # tiny negative values are eigenvalue round-off


def tile(images: np.ndarray, columns: int) -> np.ndarray:
    """Images (n, H, W) in [0, 1] → one grid image, `columns` per row, 1-pixel gaps, upscaled to ≥ 32 px per tile."""
    n, h, w = images.shape
    rows = -(-n // columns)
    grid = np.full((rows * (h + 1) + 1, columns * (w + 1) + 1), 0.5)  # mid-grey gaps
    for i, img in enumerate(images):
        r, c = divmod(i, columns)
        grid[1 + r * (h + 1) : 1 + r * (h + 1) + h, 1 + c * (w + 1) : 1 + c * (w + 1) + w] = img
    scale = max(1, 32 // h)
    return np.kron(grid, np.ones((scale, scale)))
