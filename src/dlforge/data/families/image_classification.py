"""Image classification: images stored one per row as pixel columns, a class per image.

The spec and its preprocessing (pixels scaled to [0, 1] and standardised with train statistics)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from dlforge.data import validate
from dlforge.data.prepared import CHUNK_BYTES, CHUNK_ROWS
from dlforge.data.preprocess import Preprocessor, _Classes
from dlforge.data.spec import _Classification
from dlforge.errors import UserError


class ImagePreprocessor(_Classes, Preprocessor):
    """Scales raw pixel arrays (n, H, W) to [0, 1] and standardises them with train statistics."""

    def __init__(self, shape: list[int], max_value: float, mean: float, std: float, classes: list[Any]):
        self.shape, self.max_value, self.mean, self.std, self.classes = list(shape), max_value, mean, std, classes

    @classmethod
    def fit(cls, train: np.ndarray, shape: list[int], max_value: float, classes: list[Any]) -> ImagePreprocessor:
        scaled = train / max_value
        return cls(shape, max_value, float(scaled.mean()), float(scaled.std()) or 1.0, classes)

    @classmethod
    def fit_chunks(
        cls, chunks: Iterable[np.ndarray], shape: list[int], max_value: float, classes: list[Any]
    ) -> ImagePreprocessor:
        """As `fit`, one chunk of train images at a time (memory: one chunk): the chunks' float64 means and
        sums of squared deviations combined exactly (Chan et al.), equal to `fit`'s up to rounding."""
        n, mean, m2 = 0, 0.0, 0.0
        for chunk in chunks:
            scaled = np.asarray(chunk, dtype=np.float64) / max_value
            k, m = scaled.size, float(scaled.mean())
            delta, total = m - mean, n + k
            mean, m2, n = (
                mean + delta * k / total,
                m2 + float(((scaled - m) ** 2).sum()) + delta**2 * n * k / total,
                total,
            )
        return cls(shape, max_value, mean, float(np.sqrt(m2 / n)) or 1.0, classes)

    @property
    def model_args(self) -> dict[str, dict[str, Any]]:
        return {
            "net": {"in_shape": [1, *self.shape], "num_classes": len(self.classes)},
            "module": {"num_classes": len(self.classes)},
        }

    def transform(self, raw: Any) -> np.ndarray:
        x = np.asarray(raw.to_numpy() if isinstance(raw, pd.DataFrame) else raw, dtype=np.float64)
        h, w = self.shape
        if x.ndim == 2 and x.shape[1] == h * w:  # flat rows of pixels
            x = x.reshape(-1, h, w)
        if x.ndim != 3 or x.shape[1:] != (h, w):
            raise UserError(f"input: expected images of shape (n, {h}, {w}) or (n, {h * w}), got {tuple(x.shape)}")
        if np.isnan(x).any():
            raise UserError(f"input: image {int(np.argwhere(np.isnan(x))[0][0])}: missing pixel value (NaN)")
        if x.min() < 0 or x.max() > self.max_value:
            bad = int(np.argwhere((x < 0) | (x > self.max_value))[0][0])
            raise UserError(f"input: image {bad}: pixel values must lie in [0, {self.max_value}]")
        return ((x / self.max_value - self.mean) / self.std).astype(np.float32)[:, None]

    def state(self) -> dict[str, Any]:
        return {
            "shape": self.shape,
            "max_value": self.max_value,
            "mean": self.mean,
            "std": self.std,
            "classes": self.classes,
        }


class ImageClassification(_Classification):
    """Images stored one per row as pixel columns p0..p{H*W-1}, values in [0, max_value]."""

    def __init__(
        self,
        source: Callable[[], pd.DataFrame],
        target: str,
        classes: list[Any],
        shape: list[int],
        max_value: float,
        name: str = "data",
    ):
        super().__init__(source, target, classes, name)
        self.shape, self.max_value = list(shape), float(max_value)
        self.feature_columns = [f"p{i}" for i in range(int(np.prod(self.shape)))]

    def validate(self, df: pd.DataFrame) -> None:
        super().validate(df)
        validate.numeric(df, self.feature_columns, self.name, low=0.0, high=self.max_value)

    @property
    def chunk_rows(self) -> int:
        """Images per chunk: about CHUNK_BYTES of float64 pixels, at most CHUNK_ROWS."""
        return max(1, min(CHUNK_ROWS, CHUNK_BYTES // (8 * len(self.feature_columns))))

    def raw(self, df: pd.DataFrame) -> np.ndarray:
        return df[self.feature_columns].to_numpy(np.float32).reshape(-1, *self.shape)

    def fit(self, df: pd.DataFrame, train: np.ndarray) -> ImagePreprocessor:
        """Pixel statistics of the train images; more than one prepare chunk of them: chunk by chunk, so the
        float copies never hold the whole train split."""
        step = self.chunk_rows
        if len(train) <= step:
            return ImagePreprocessor.fit(self.raw(df.iloc[train]), self.shape, self.max_value, self.classes)
        chunks = (self.raw(df.iloc[train[i : i + step]]) for i in range(0, len(train), step))
        return ImagePreprocessor.fit_chunks(chunks, self.shape, self.max_value, self.classes)
