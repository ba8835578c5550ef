"""WAV files → float waveforms in [-1, 1], with the file named in every refusal.

Read with scipy.io.wavfile: 8-bit unsigned, 16/32-bit signed PCM and 32/64-bit float. Several
channels are averaged into one (the models take mono audio). Nothing is resampled: a file at
another rate than expected is refused (`expect_rate`).
"""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np

from dlforge.errors import UserError


def read_wav(path: str | Path, where: str = "input") -> tuple[np.ndarray, int]:
    """A WAV file as (float32 mono samples, sample rate)."""
    from scipy.io import wavfile

    try:
        with warnings.catch_warnings():  # unknown chunks (LIST metadata) are skipped: not our concern
            warnings.simplefilter("ignore", wavfile.WavFileWarning)
            rate, data = wavfile.read(path)
    except (ValueError, OSError, EOFError, TypeError, struct.error) as e:  # every way scipy says "not a WAV"
        raise UserError(f"{where}: file '{path}': not a readable WAV file ({' '.join(str(e).split())[:150]})") from None
    if data.dtype == np.uint8:
        samples = (data.astype(np.float64) - 128.0) / 128.0
    elif data.dtype.kind == "i":  # 24-bit PCM arrives left-justified in int32
        samples = data.astype(np.float64) / float(2 ** (8 * data.dtype.itemsize - 1))
    elif data.dtype.kind == "f":
        samples = data.astype(np.float64)
    else:
        raise UserError(f"{where}: file '{path}': unsupported WAV sample type {data.dtype}")
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    return samples.astype(np.float32), int(rate)


def expect_rate(path: str | Path, rate: int, expected: int, where: str = "input") -> None:
    if rate != expected:
        raise UserError(f"{where}: file '{path}': sample rate {rate} Hz; expected {expected} Hz (resample it first)")
