"""Audio classification data: mono waveforms at one sample rate, a class per clip.

Raw inputs (what the served model takes) are float waveforms in [-1, 1]: one clip as a 1-d array,
several as an (n, samples) array or a list of 1-d clips of any lengths. Every clip is brought to the
training length the same way in prepare and in serving (`fit_length`): a shorter clip is padded
with silence on both sides (centred), a longer one keeps its loudest window; a clip longer than
`max_seconds`, an empty one or one with NaN/inf samples is refused naming the clip. The sample rate
is the model's (`sample_rate`): clips at another rate are refused, never resampled silently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from dlforge.data.preprocess import Preprocessor, _Classes
from dlforge.data.spec import _Classification
from dlforge.data.split import group_split
from dlforge.errors import UserError


def fit_length(clip: np.ndarray, samples: int) -> np.ndarray:
    """`clip` padded (centred) or cut (its loudest window of `samples`) to exactly `samples` samples."""
    if len(clip) < samples:
        left = (samples - len(clip)) // 2
        return np.pad(clip, (left, samples - len(clip) - left))
    if len(clip) > samples:
        energy = np.concatenate([[0.0], np.cumsum(np.asarray(clip, dtype=np.float64) ** 2)])
        start = int(np.argmax(energy[samples:] - energy[:-samples]))
        return clip[start : start + samples]
    return clip


class AudioPreprocessor(_Classes, Preprocessor):
    """Raw waveforms → (n, clip_samples) float32, each checked and brought to the training length."""

    def __init__(self, sample_rate: int, clip_samples: int, max_samples: int, classes: list[Any]):
        self.sample_rate, self.clip_samples, self.max_samples = int(sample_rate), int(clip_samples), int(max_samples)
        self.classes = list(classes)

    @property
    def model_args(self) -> dict[str, dict[str, Any]]:
        return {
            "net": {"in_shape": [self.clip_samples], "num_classes": len(self.classes), "sample_rate": self.sample_rate},
            "module": {"num_classes": len(self.classes)},
        }

    def check_rate(self, rate: Any) -> None:
        """A request's declared sample rate (None: the model's) must be the model's."""
        if rate is not None and int(rate) != self.sample_rate:
            raise UserError(
                f"input: sample rate {int(rate)} Hz; this model takes {self.sample_rate} Hz mono audio (resample the clip first)"
            )

    def clips(self, raw: Any, where: str = "input", labels: list[str] | None = None) -> list[np.ndarray]:
        """The request as a list of 1-d float64 clips, each checked: a refusal names `labels[i]` (else `clip i`)."""
        if isinstance(raw, pd.DataFrame | dict | str | bytes):
            raise UserError(
                f"{where}: expected a waveform (1-d array), an (n, samples) array or a list of waveforms, got {type(raw).__name__}"
            )
        arr = np.asarray(raw, dtype=object) if not isinstance(raw, np.ndarray) else raw
        if arr.dtype == object and arr.ndim == 1 and all(np.ndim(v) == 0 for v in arr):
            arr = arr.astype(np.float64)  # one clip, parsed from JSON as a list of numbers
        if arr.dtype != object and arr.ndim == 1:
            items = [arr]
        elif arr.dtype != object and arr.ndim == 2:
            items = list(arr)
        elif arr.dtype == object and arr.ndim in (1, 2):
            items = list(arr)
        else:
            raise UserError(
                f"{where}: expected one waveform or a batch of waveforms, got an array of shape {arr.shape}"
            )
        out = []
        for i, item in enumerate(items):
            at = f"{where}: {labels[i] if labels else f'clip {i}'}"
            try:
                clip = np.asarray(item, dtype=np.float64)
            except (TypeError, ValueError):
                raise UserError(f"{at}: expected numbers (audio samples)") from None
            if clip.ndim != 1:
                raise UserError(f"{at}: expected a 1-d mono waveform, got shape {clip.shape}")
            if clip.size == 0:
                raise UserError(f"{at}: empty clip (0 samples)")
            if clip.size > self.max_samples:
                raise UserError(
                    f"{at}: {clip.size / self.sample_rate:.2f} s at {self.sample_rate} Hz; at most "
                    f"{self.max_samples / self.sample_rate:.2f} s (is the sample rate {self.sample_rate} Hz?)"
                )
            if not np.isfinite(clip).all():
                raise UserError(f"{at}: sample {int(np.argmin(np.isfinite(clip)))} is NaN or infinite")
            out.append(clip)
        return out

    def transform(self, raw: Any) -> np.ndarray:
        clips = self.clips(raw)
        if not clips:
            return np.zeros((0, self.clip_samples), np.float32)
        return np.stack([fit_length(c, self.clip_samples) for c in clips]).astype(np.float32)

    def state(self) -> dict[str, Any]:
        return {
            "sample_rate": self.sample_rate,
            "clip_samples": self.clip_samples,
            "max_samples": self.max_samples,
            "classes": self.classes,
        }


class AudioClassification(_Classification):
    """One clip per row (column `audio`: a 1-d float array at `sample_rate`) and a class label.

    With `group` (a column naming the voice or speaker of each clip) the split keeps every group in
    one split (dlforge.data.split.group_split): no test or validation voice is heard in training.
    Without it the split is random, stratified on the label.
    """

    def __init__(
        self,
        source: Callable[[], pd.DataFrame],
        target: str,
        classes: list[Any],
        sample_rate: int,
        clip_seconds: float,
        max_seconds: float,
        group: str | None = None,
        audio: str = "audio",
        name: str = "data",
    ):
        super().__init__(source, target, classes, name)
        self.sample_rate, self.group, self.audio = int(sample_rate), group, audio
        self.clip_samples = round(clip_seconds * self.sample_rate)
        self.max_samples = round(max_seconds * self.sample_rate)
        self.feature_columns = [audio, *([group] if group else [])]

    def preprocessor(self) -> AudioPreprocessor:
        return AudioPreprocessor(self.sample_rate, self.clip_samples, self.max_samples, self.classes)

    def validate(self, df: pd.DataFrame) -> None:
        super().validate(df)
        labels = [f"file '{f}'" for f in df["file"]] if "file" in df.columns else [f"row {i}" for i in range(len(df))]
        self.preprocessor().clips(df[self.audio].to_numpy(), self.name, labels)

    def split(self, df: pd.DataFrame, val: float, test: float, seed: int) -> dict[str, np.ndarray]:
        if not self.group:
            return super().split(df, val, test, seed)
        self.check_rows(df)
        idx = group_split(df[self.group].astype(str).to_numpy(), val, test, seed)
        labels = df[self.target]
        for s, rows in idx.items():
            missing = [c for c in self.classes if not (labels.iloc[rows] == c).any()]
            if missing:
                raise UserError(
                    f"{self.name}: split by '{self.group}' leaves no '{missing[0]}' clip in {s}; every {self.group} should say every class"
                )
        return idx

    def raw(self, df: pd.DataFrame) -> np.ndarray:
        return self.preprocessor().transform(df[self.audio].to_numpy())

    def fit(self, df: pd.DataFrame, train: np.ndarray) -> AudioPreprocessor:
        return self.preprocessor()
