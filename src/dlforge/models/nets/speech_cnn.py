"""A small CNN on log-mel spectrograms, computed inside the network from raw waveforms.

The served model therefore takes audio as it is (dlforge.data.families.audio_classification); the features are torch.stft
with the same filterbank the classical baseline uses (dlforge.data.mel), so both read the same
spectrogram. `features` (waveforms → log-mels) and `body` (log-mels → logits) are separate modules:
explanations attribute the body's decision to the log-mel input (dlforge.tasks.speech_classification).
"""

from __future__ import annotations

import torch
from torch import nn

from dlforge.data.mel import EPS, filterbank


class LogMel(nn.Module):
    """(n, samples) waveforms → (n, n_mels, frames) log mel power (Hann window, centred frames)."""

    def __init__(self, sample_rate: int, n_fft: int, hop: int, n_mels: int):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        # Rebuilt from the config at load time (not saved with the weights).
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.register_buffer("fb", torch.from_numpy(filterbank(sample_rate, n_fft, n_mels)), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(x, self.n_fft, self.hop, window=self.window, center=True, return_complex=True)
        power = spec.real**2 + spec.imag**2  # (n, n_fft // 2 + 1, frames)
        return torch.log(torch.matmul(self.fb, power) + EPS)


class ClipNorm(nn.Module):
    """Subtracts each clip's mean log-mel: a louder or quieter recording of the same word reads the same."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - x.mean((1, 2), keepdim=True)


class SpeechCNN(nn.Module):
    """LogMel → ClipNorm → BatchNorm over the mel bands → temporal conv blocks (Conv1d over frames with
    the mel bands as channels → BatchNorm → ReLU → max pool 2) → mean and max over time → dropout →
    linear head. Convolving over time only keeps it fast on one CPU thread (a few ms per clip)."""

    def __init__(
        self,
        in_shape: list[int],
        num_classes: int,
        sample_rate: int,
        n_mels: int = 40,
        n_fft: int = 400,
        hop: int = 160,
        channels: list[int] | None = None,
        kernel: int = 5,
        dropout: float = 0.2,
    ):
        super().__init__()
        self.features = LogMel(sample_rate, n_fft, hop, n_mels)
        layers: list[nn.Module] = [ClipNorm(), nn.BatchNorm1d(n_mels)]
        c_in = n_mels
        for c in channels or [64, 64, 64]:
            layers += [
                nn.Conv1d(c_in, c, kernel, padding=kernel // 2),
                nn.BatchNorm1d(c),
                nn.ReLU(),
                nn.MaxPool1d(2, ceil_mode=True),
            ]
            c_in = c
        layers += [_MeanMax(), nn.Dropout(dropout), nn.Linear(2 * c_in, num_classes)]
        self.body = nn.Sequential(*layers)  # log-mels (n, n_mels, frames) → logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.features(x))


class _MeanMax(nn.Module):
    """(n, channels, frames) → (n, 2 × channels): the mean and the max over time."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.mean(2), x.amax(2)], dim=1)
