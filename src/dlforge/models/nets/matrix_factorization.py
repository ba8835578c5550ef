"""Matrix factorisation with biases, optionally with an NCF-style MLP over the two embeddings."""

from __future__ import annotations

import torch
from torch import nn


class MatrixFactorization(nn.Module):
    """(n, 2) int64 [user_idx, item_idx] → centred rating: b_u + b_i + <p_u, q_i> (+ MLP([p_u, q_i])).

    Index 0 is "not seen in train" on both sides: `padding_idx` keeps its vector and bias at zero
    (no gradient, no weight decay), so unknown ids fall back to the other side's bias. The global
    mean is added back by the preprocessor (targets are centred). `hidden` non-empty adds the
    neural-collaborative-filtering branch (NeuMF: a ReLU MLP on the concatenated embeddings).
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        dim: int = 32,
        dropout: float = 0.0,
        hidden: list[int] | None = None,
        init_std: float = 0.05,
    ):
        super().__init__()
        self.user, self.item = nn.Embedding(n_users, dim, padding_idx=0), nn.Embedding(n_items, dim, padding_idx=0)
        self.user_bias, self.item_bias = (
            nn.Embedding(n_users, 1, padding_idx=0),
            nn.Embedding(n_items, 1, padding_idx=0),
        )
        for table in (self.user, self.item):
            nn.init.normal_(table.weight, std=init_std)
        for table in (self.user_bias, self.item_bias):
            nn.init.zeros_(table.weight)
        for table in (self.user, self.item, self.user_bias, self.item_bias):
            table.weight.data[0] = 0.0
        self.dropout = nn.Dropout(dropout)
        layers: list[nn.Module] = []
        width = 2 * dim
        for h in hidden or []:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        self.mlp = nn.Sequential(*layers, nn.Linear(width, 1)) if hidden else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u, i = x[:, 0], x[:, 1]
        p, q = self.dropout(self.user(u)), self.dropout(self.item(i))
        out = (p * q).sum(1) + self.user_bias(u)[:, 0] + self.item_bias(i)[:, 0]
        if self.mlp is not None:
            out = out + self.mlp(torch.cat([p, q], 1))[:, 0]
        return out
