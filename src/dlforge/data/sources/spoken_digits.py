"""A spoken-digit corpus synthesised offline with eSpeak NG (dlforge.data.sources.espeak), noisy enough to be a task.

Every voice (an English accent + a voice variant, e.g. `en-us+f3`) says every word `takes` times, each
time at a random speaking rate and pitch; a few other words ("yes", "stop", ...) are the class
`unknown`, one random word per voice and take, so it is as frequent as each digit. Each clip is
trimmed of silence, resampled to `sample_rate` (scipy.signal.resample_poly), placed at a random
offset in a `clip_seconds` clip (time shift), scaled by a random gain and mixed with white, pink or
brown noise at a random SNR. One seeded generator drives every draw, in a fixed order, and eSpeak NG
runs in a fresh process per corpus (dlforge.data.sources.espeak.synthesize_all): the same config and seed
give the same samples, bit for bit, in any process.

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
    from dlforge.data.sources.espeak import UNSTABLE_VARIANTS, synthesize_all
    from dlforge.data.sources.espeak import variants as known

    if takes < 1:
        raise UserError(f"config key 'data.source.takes': expected at least 1, got {takes}")
    unknown = [v for v in variants if v not in known()]  # eSpeak NG would speak it with the plain accent
    if unknown:
        raise UserError(
            f"config key 'data.source.variants': eSpeak NG has no voice variant '{unknown[0]}' (e.g. m1, f4, Alex)"
        )
    unstable = [v for v in variants if v in UNSTABLE_VARIANTS]
    if unstable:
        raise UserError(
            f"config key 'data.source.variants': '{unstable[0]}' is not reproducible (eSpeak NG's breath noise "
            f"for it changes from run to run); leave out {', '.join(UNSTABLE_VARIANTS)}"
        )
    rng = np.random.default_rng(seed)
    clip = round(clip_seconds * sample_rate)
    said = []  # (word, label, voice, variant, rate, pitch): every draw about the speech first
    for variant in variants:
        for accent in accents:
            for _ in range(takes):
                words_now = [(w, w) for w in words]
                if unknown_words:
                    words_now.append((str(rng.choice(unknown_words)), UNKNOWN))
                for word, label in words_now:
                    r, p = int(rng.integers(rate[0], rate[1] + 1)), int(rng.integers(pitch[0], pitch[1] + 1))
                    said.append((word, label, f"{accent}+{variant}", variant, r, p))
    speech_raw, rate_in = synthesize_all([(w, voice, r, p) for w, _, voice, _, r, p in said])
    rows = []
    for (word, label, voice, variant, _, _), raw in zip(said, speech_raw):
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
