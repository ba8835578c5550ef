"""A small convolutional network for single-channel images."""

from __future__ import annotations

from torch import nn


class CNN(nn.Sequential):
    """Conv → BatchNorm → ReLU blocks (each halving the image), global average pool, linear head."""

    def __init__(self, in_shape: list[int], num_classes: int, channels: list[int], dropout: float = 0.0):
        layers: list[nn.Module] = []
        c_in = in_shape[0]
        for c in channels:
            layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True)]
            c_in = c
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c_in, num_classes)]
        super().__init__(*layers)
