"""Mel filterbank and log-mel / MFCC features in numpy (scipy for the DCT).

One filterbank for both sides: the speech network builds its torch log-mel layer from
`filterbank` (dlforge.models.nets.log_mel), and the classical baseline and the plots compute the
same log-mel here, without torch. Frames: a Hann window of `n_fft` samples every `hop` samples,
centred (the signal is reflect-padded by n_fft // 2 at both ends, as torch.stft(center=True) does).
"""

from __future__ import annotations

import numpy as np

EPS = 1e-6  # added to mel power before the log: silence reads log(EPS), not -inf


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def band_edges(sample_rate: int, n_mels: int, f_min: float = 20.0, f_max: float | None = None) -> np.ndarray:
    """n_mels + 2 frequencies (Hz) evenly spaced on the mel scale: band i spans edges[i]..edges[i + 2]."""
    top = sample_rate / 2 if f_max is None else f_max
    return mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(top), n_mels + 2))


def filterbank(
    sample_rate: int, n_fft: int, n_mels: int, f_min: float = 20.0, f_max: float | None = None
) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters (HTK mel scale, peak 1) over the FFT bins."""
    freqs = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    edges = band_edges(sample_rate, n_mels, f_min, f_max)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None, :] - lo) / (mid - lo)
    falling = (hi - freqs[None, :]) / (hi - mid)
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)


def log_mel(waves: np.ndarray, sample_rate: int, n_fft: int, hop: int, n_mels: int, batch: int = 256) -> np.ndarray:
    """(n, samples) waveforms → (n, n_mels, frames) log mel power, in batches (memory stays small)."""
    fb, window = filterbank(sample_rate, n_fft, n_mels).astype(np.float64), np.hanning(n_fft + 1)[:-1]
    out = []
    for start in range(0, len(waves), batch):
        x = np.pad(
            np.asarray(waves[start : start + batch], dtype=np.float64), ((0, 0), (n_fft // 2, n_fft // 2)), "reflect"
        )
        frames = np.lib.stride_tricks.sliding_window_view(x, n_fft, axis=1)[:, ::hop]  # (b, frames, n_fft)
        power = np.abs(np.fft.rfft(frames * window, axis=-1)) ** 2
        out.append(np.log(np.einsum("mf,btf->bmt", fb, power) + EPS))
    return np.concatenate(out) if out else np.zeros((0, n_mels, 0))


def mfcc_stats(waves: np.ndarray, sample_rate: int, n_fft: int, hop: int, n_mels: int, n_mfcc: int) -> np.ndarray:
    """Per clip: mean and standard deviation over frames of the first `n_mfcc` MFCCs and their deltas
    (the DCT-II of the log-mel), a fixed-length (n, 4 * n_mfcc) feature vector for a linear model."""
    from scipy.fft import dct

    mfcc = dct(log_mel(waves, sample_rate, n_fft, hop, n_mels), type=2, axis=1, norm="ortho")[:, :n_mfcc]
    delta = np.diff(mfcc, axis=2)
    return np.concatenate([mfcc.mean(2), mfcc.std(2), delta.mean(2), delta.std(2)], axis=1)
