"""A small CNN on log-mel spectrograms, computed inside the network from raw waveforms.

The served model therefore takes audio as it is (dlforge.data.audio); the features are torch.stft
with the same filterbank the classical baseline uses (dlforge.data.mel), so both read the same
spectrogram. `features` (waveforms → log-mels) and `body` (log-mels → logits) are separate modules:
explanations attribute the body's decision to the log-mel input (dlforge.tasks.speech_classification).
"""

from __future__ import annotations

import torch
from torch import nn

from dlforge.data.mel import EPS, filterbank


class LogMel(nn.Module):
    """(n, samples) waveforms → (n, 1, n_mels, frames) log mel power (Hann window, centred frames)."""

    def __init__(self, sample_rate: int, n_fft: int, hop: int, n_mels: int):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        # Rebuilt from the config at load time (not saved with the weights).
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.register_buffer("fb", torch.from_numpy(filterbank(sample_rate, n_fft, n_mels)), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(x, self.n_fft, self.hop, window=self.window, center=True, return_complex=True)
        power = spec.real**2 + spec.imag**2  # (n, n_fft // 2 + 1, frames)
        return torch.log(torch.matmul(self.fb, power) + EPS).unsqueeze(1)


class SpeechCNN(nn.Module):
    """LogMel → BatchNorm (standardises the log-mels with running train statistics) → conv blocks
    (Conv → BatchNorm → ReLU → 2×2 max pool) → global average pool → dropout → linear head."""

    def __init__(
        self,
        in_shape: list[int],
        num_classes: int,
        sample_rate: int,
        n_mels: int = 40,
        n_fft: int = 400,
        hop: int = 160,
        channels: list[int] | None = None,
        dropout: float = 0.2,
    ):
        super().__init__()
        self.features = LogMel(sample_rate, n_fft, hop, n_mels)
        layers: list[nn.Module] = [nn.BatchNorm2d(1)]
        c_in = 1
        for c in channels or [16, 32, 64]:
            layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True)]
            c_in = c
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c_in, num_classes)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.features(x))
