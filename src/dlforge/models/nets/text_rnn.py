"""Embedding + bidirectional GRU/LSTM over word ids, pooled over time into one logit per class."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from dlforge.errors import UserError


class TextRNN(nn.Module):
    """Reads padded id sequences (0 = padding) as packed sequences, so padding never enters the RNN.

    The per-step states are max- and mean-pooled over the real (unpadded) steps: a review's verdict
    may sit anywhere in it, which a last-state readout forgets on long texts.
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        embed_dim: int = 64,
        hidden: int = 64,
        layers: int = 1,
        cell: str = "gru",
        bidirectional: bool = True,
        dropout: float = 0.3,
        embed_dropout: float = 0.1,
    ):
        super().__init__()
        if cell not in ("gru", "lstm"):
            raise UserError(f"config key 'model.net.cell': expected one of ['gru', 'lstm'], got {cell!r}")
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.embed_dropout = nn.Dropout(embed_dropout)
        rnn = nn.GRU if cell == "gru" else nn.LSTM
        self.rnn = rnn(
            embed_dim,
            hidden,
            num_layers=layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if layers > 1 else 0.0,
        )
        width = hidden * (2 if bidirectional else 1)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * width, num_classes))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        lengths = (ids != 0).sum(1).clamp_min(1)  # an all-padding row still reads one step
        x = self.embed_dropout(self.embed(ids))
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        states, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=ids.shape[1])
        valid = (torch.arange(ids.shape[1], device=ids.device)[None, :] < lengths[:, None]).unsqueeze(-1)
        peak = states.masked_fill(~valid, float("-inf")).amax(1)
        mean = (states * valid).sum(1) / lengths[:, None]
        return self.head(torch.cat([peak, mean], dim=1))
