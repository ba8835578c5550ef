"""A recurrent network (GRU or LSTM) that reads a window of past values and forecasts the next one."""

from __future__ import annotations

import torch
from torch import nn

from dlforge.errors import UserError

_CELLS = {"gru": nn.GRU, "lstm": nn.LSTM}


class RNNForecaster(nn.Module):
    """GRU/LSTM over the window (n, window, input_size), a linear head on the last hidden state.

    With `residual` the head predicts the change from the window's last value: a series that moves
    slowly then starts from the naive forecast instead of having to learn to copy its input.
    """

    def __init__(
        self,
        input_size: int,
        hidden: int,
        layers: int = 1,
        cell: str = "gru",
        dropout: float = 0.0,
        residual: bool = True,
    ):
        super().__init__()
        if cell not in _CELLS:
            raise UserError(f"config key 'model.net.cell': expected one of {sorted(_CELLS)}, got {cell!r}")
        self.rnn = _CELLS[cell](
            input_size, hidden, num_layers=layers, batch_first=True, dropout=dropout if layers > 1 else 0.0
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, 1))
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        y = self.head(out[:, -1]).squeeze(-1)
        return y + x[:, -1, 0] if self.residual else y
