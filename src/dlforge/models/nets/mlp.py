"""A multilayer perceptron for tabular features."""

from __future__ import annotations

import math

from torch import nn


class MLP(nn.Sequential):
    """Linear → ReLU → Dropout blocks, then a linear head with one logit per class."""

    def __init__(self, in_shape: list[int], num_classes: int, hidden: list[int], dropout: float = 0.0):
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(in_shape)
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, num_classes))
        super().__init__(*layers)
