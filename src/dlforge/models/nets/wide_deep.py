"""Wide and deep for tabular features: an MLP plus a linear skip from the inputs to the logits.

The linear (wide) part can express exactly what logistic regression does; the MLP (deep) part adds
what a linear logit misses. Before training the wide biases start at the log class frequencies of
the train split: with 3 % positives the logits then start where the data puts them, instead of
spending the first epochs walking the bias down from 0 (dlforge.models.classifier calls
`init_from_train`).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class WideDeep(nn.Module):
    """Logits = Linear(x) + MLP(x), both over the flattened inputs."""

    def __init__(
        self, in_shape: list[int], num_classes: int, hidden: list[int], dropout: float = 0.0, prior_init: bool = True
    ):
        super().__init__()
        self.num_classes, self.prior_init = num_classes, prior_init
        self.wide = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(in_shape), num_classes))
        layers: list[nn.Module] = [nn.Flatten()]  # as dlforge.models.nets.mlp.MLP (kept here: one file per net for DVC)
        width = math.prod(in_shape)
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        self.deep = nn.Sequential(*layers, nn.Linear(width, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.wide(x) + self.deep(x)

    @torch.no_grad()
    def init_from_train(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Wide biases ← log of each class's share of the train labels, add-one smoothed (no-op if `prior_init` is false)."""
        if not self.prior_init:
            return
        counts = torch.bincount(y.long(), minlength=self.num_classes).double()
        share = (counts + 1) / (counts.sum() + self.num_classes)
        self.wide[1].bias.copy_(share.log().to(self.wide[1].bias.dtype))
        self.deep[-1].bias.zero_()
