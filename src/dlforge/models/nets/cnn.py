"""A small convolutional network for single-channel images, with optional training-time augmentation."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class MemberMean(nn.Module):
    """(N, members × classes) logits → their mean over the members: (N, classes)."""

    def __init__(self, members: int):
        super().__init__()
        self.members = members

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(len(x), self.members, -1).mean(1)


class CNN(nn.Sequential):
    """Conv → BatchNorm → ReLU blocks (each halving the image; `convs` convolutions per block), global
    average pool, linear head.

    `members` > 1 makes it an ensemble in one network: that many independently initialised CNNs, run side
    by side as grouped convolutions (one member per group), whose logits are averaged. It trains, exports
    and serves as one model; in training each member sees its own random augmentation of the batch.

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
        members: int = 1,
    ):
        k = members
        layers: list[nn.Module] = []
        c_in = in_shape[0]
        for c in channels:
            for _ in range(convs):
                layers += [nn.Conv2d(c_in * k, c * k, 3, padding=1, groups=k), nn.BatchNorm2d(c * k), nn.ReLU()]
                c_in = c
            layers.append(nn.MaxPool2d(2, ceil_mode=True))
        if k == 1:
            layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c_in, num_classes)]
        else:  # one linear head per member: a grouped 1x1 convolution on the pooled features
            head = nn.Conv2d(c_in * k, num_classes * k, 1, groups=k)
            layers += [nn.AdaptiveAvgPool2d(1), nn.Dropout(dropout), head, nn.Flatten(), MemberMean(k)]
        super().__init__(*layers)
        # plain numbers, not modules: Sequential runs every module
        self.shift, self.rotate, self.members = shift, rotate, members

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.members > 1:  # each member's copy of the input, member-major along the channels
            x = x.repeat(1, self.members, 1, 1)
        if self.training and (self.shift or self.rotate):
            n, c, h, w = x.shape  # one augmentation per image and member
            x = self.augment(x.reshape(n * self.members, c // self.members, h, w)).reshape(n, c, h, w)
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
