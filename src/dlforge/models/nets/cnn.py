"""A small convolutional network for single-channel images, with optional training-time augmentation."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class CNN(nn.Sequential):
    """Conv → BatchNorm → ReLU blocks (each halving the image; `convs` convolutions per block), global
    average pool, linear head.

    Augmentation (training only; evaluation and serving see the images as they are): each image is
    shifted by up to `shift` of its size and rotated by up to `rotate` degrees, at random (torch's
    seeded generator), by one affine resampling. No parameters: checkpoints load either way.
    """

    def __init__(
        self,
        in_shape: list[int],
        num_classes: int,
        channels: list[int],
        dropout: float = 0.0,
        convs: int = 1,
        shift: float = 0.0,
        rotate: float = 0.0,
    ):
        layers: list[nn.Module] = []
        c_in = in_shape[0]
        for c in channels:
            for _ in range(convs):
                layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU()]
                c_in = c
            layers.append(nn.MaxPool2d(2, ceil_mode=True))
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c_in, num_classes)]
        super().__init__(*layers)
        self.shift, self.rotate = shift, rotate  # plain floats, not modules: Sequential runs every module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and (self.shift or self.rotate):
            x = self.augment(x)
        return super().forward(x)

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        """Random shifts and rotations; the background is the image's own minimum (black after standardising)."""
        n = len(x)
        angle = (torch.rand(n, device=x.device) * 2 - 1) * math.radians(self.rotate)
        move = (torch.rand(n, 2, device=x.device) * 2 - 1) * 2 * self.shift  # grid units: the image spans 2
        cos, sin = angle.cos(), angle.sin()
        theta = torch.stack([torch.stack([cos, -sin, move[:, 0]], 1), torch.stack([sin, cos, move[:, 1]], 1)], 1)
        grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
        low = x.amin(dim=(1, 2, 3), keepdim=True)
        return F.grid_sample(x - low, grid, align_corners=False, padding_mode="zeros") + low
