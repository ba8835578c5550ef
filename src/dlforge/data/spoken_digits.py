"""A spoken-digit corpus synthesised offline with eSpeak NG (dlforge.data.espeak), noisy enough to be a task.

Every voice (an English accent + a voice variant, e.g. `en-us+f3`) says every word `takes` times, each
time at a random speaking rate and pitch; a few other words ("yes", "stop", ...) are the class
`unknown`, one random word per voice and take, so it is as frequent as each digit. Each clip is
trimmed of silence, resampled to `sample_rate` (scipy.signal.resample_poly), placed at a random
offset in a `clip_seconds` clip (time shift), scaled by a random gain and mixed with white, pink or
brown noise at a random SNR. One seeded generator drives every draw, in a fixed order: the same
config and seed give the same samples, bit for bit.

Columns: `audio` (float32 waveform), `label`, `word`, `voice`, `variant` (the speaker-like group the
split keeps whole: no test voice variant is heard in training, under any accent).
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache

import numpy as np
import pandas as pd

from dlforge.errors import UserError

UNKNOWN = "unknown"
NOISES = ("white", "pink", "brown")  # spectral slopes 0, -3 and -6 dB per octave


def colored_noise(rng: np.random.Generator, kind: str, n: int) -> np.ndarray:
    """Unit-RMS Gaussian noise of `n` samples with the spectrum of `kind`."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.maximum(np.arange(len(spectrum)), 1.0)
    spectrum *= f ** {"white": 0.0, "pink": -0.5, "brown": -1.0}[kind]
    noise = np.fft.irfft(spectrum, n)
    return noise / (np.sqrt(np.mean(noise**2)) or 1.0)


def trim(samples: np.ndarray, threshold: float = 0.02) -> np.ndarray:
    """Leading and trailing samples quieter than `threshold` × the peak removed."""
    loud = np.flatnonzero(np.abs(samples) > threshold * (np.abs(samples).max() or 1.0))
    return samples[loud[0] : loud[-1] + 1] if len(loud) else samples


@cache
def _lowpass(up: int, down: int) -> np.ndarray:
    """resample_poly's own anti-aliasing filter for up/down, designed once (it is most of the cost)."""
    from scipy.signal import firwin

    return firwin(20 * max(up, down) + 1, 1.0 / max(up, down), window=("kaiser", 5.0))


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    from scipy.signal import resample_poly

    ratio = Fraction(rate_out, rate_in)
    return resample_poly(x, ratio.numerator, ratio.denominator, window=_lowpass(ratio.numerator, ratio.denominator))


def spoken_digits(
    accents: list[str],
    variants: list[str],
    words: list[str],
    unknown_words: list[str],
    takes: int,
    rate: list[int],
    pitch: list[int],
    snr_db: list[float],
    gain_db: list[float],
    sample_rate: int,
    clip_seconds: float,
    seed: int,
) -> pd.DataFrame:
    """The corpus as one row per clip (see the module docstring); `rate`, `pitch`, `snr_db` and
    `gain_db` are [low, high] ranges drawn uniformly per clip."""
    from dlforge.data.espeak import synthesize

    if takes < 1:
        raise UserError(f"config key 'data.source.takes': expected at least 1, got {takes}")
    rng = np.random.default_rng(seed)
    clip = round(clip_seconds * sample_rate)
    rows = []
    for variant in variants:
        for accent in accents:
            voice = f"{accent}+{variant}"
            for _ in range(takes):
                said = [(w, w) for w in words]
                if unknown_words:
                    said.append((str(rng.choice(unknown_words)), UNKNOWN))
                for word, label in said:
                    raw, rate_in = synthesize(word, voice, int(rng.integers(rate[0], rate[1] + 1)), int(rng.integers(pitch[0], pitch[1] + 1)))
                    speech = resample(trim(raw.astype(np.float64) / 32768.0), rate_in, sample_rate)
                    speech = speech[:clip] if len(speech) > clip else speech  # a slow long word keeps its start
                    audio = np.zeros(clip)
                    start = int(rng.integers(0, clip - len(speech) + 1))
                    audio[start : start + len(speech)] = speech / (np.sqrt(np.mean(speech**2)) or 1.0) * 0.1
                    audio *= 10 ** (rng.uniform(*gain_db) / 20)
                    level = np.sqrt(np.mean(audio**2)) / 10 ** (rng.uniform(*snr_db) / 20)
                    audio += level * colored_noise(rng, NOISES[int(rng.integers(len(NOISES)))], clip)
                    rows.append((np.clip(audio, -1.0, 1.0).astype(np.float32), label, word, voice, variant))
    return pd.DataFrame(rows, columns=["audio", "label", "word", "voice", "variant"])
