"""Preprocessing fitted on the training split, stored as JSON, applied again when serving.

Pure numpy/pandas: the served model and the prepare stage share this code, so a raw request is
transformed exactly as the training rows were.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dlforge.data import validate
from dlforge.errors import UserError


class TabularPreprocessor:
    """Standardises numeric columns and one-hot encodes categorical ones."""

    kind = "tabular"

    def __init__(self, numeric: dict[str, list[float]], categorical: dict[str, list[Any]], classes: list[Any]):
        self.numeric = numeric  # column -> [mean, std] from train
        self.categorical = categorical  # column -> categories seen in train
        self.classes = classes

    @classmethod
    def fit(cls, train: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str], classes: list[Any]) -> TabularPreprocessor:
        stats = {c: [float(train[c].mean()), float(train[c].std(ddof=0)) or 1.0] for c in numeric}
        cats = {c: sorted(train[c].astype(str).unique().tolist()) for c in categorical}
        return cls(stats, cats, classes)

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    @property
    def in_shape(self) -> list[int]:
        return [len(self.numeric) + sum(len(v) for v in self.categorical.values())]

    def transform(self, raw: Any) -> np.ndarray:
        df = raw if isinstance(raw, pd.DataFrame) else pd.DataFrame(raw)
        where = "input"
        validate.require_columns(df, self.columns, where)
        validate.no_missing(df, self.columns, where)
        validate.numeric(df, list(self.numeric), where)
        parts = [((pd.to_numeric(df[c]).to_numpy(np.float64) - m) / s)[:, None] for c, (m, s) in self.numeric.items()]
        for c, cats in self.categorical.items():
            values = df[c].astype(str)
            unknown = ~values.isin(cats).to_numpy()
            if unknown.any():
                row = int(np.argmax(unknown))
                raise UserError(f"{where}: column '{c}' row {row}: unknown category {values.iloc[row]!r} (known: {cats})")
            parts.append((values.to_numpy()[:, None] == np.array(cats)[None, :]).astype(np.float64))
        return np.concatenate(parts, axis=1).astype(np.float32)

    def read_raw(self, path: Path) -> pd.DataFrame:
        return pd.read_parquet(path.with_suffix(".parquet"))

    def write_raw(self, path: Path, raw: pd.DataFrame) -> None:
        raw[self.columns].reset_index(drop=True).to_parquet(path.with_suffix(".parquet"))

    def state(self) -> dict[str, Any]:
        return {"kind": self.kind, "numeric": self.numeric, "categorical": self.categorical, "classes": self.classes}


class ImagePreprocessor:
    """Scales raw pixel arrays (n, H, W) to [0, 1] and standardises them with train statistics."""

    kind = "image"

    def __init__(self, shape: list[int], max_value: float, mean: float, std: float, classes: list[Any]):
        self.shape, self.max_value, self.mean, self.std, self.classes = list(shape), max_value, mean, std, classes

    @classmethod
    def fit(cls, train: np.ndarray, shape: list[int], max_value: float, classes: list[Any]) -> ImagePreprocessor:
        scaled = train / max_value
        return cls(shape, max_value, float(scaled.mean()), float(scaled.std()) or 1.0, classes)

    @property
    def in_shape(self) -> list[int]:
        return [1, *self.shape]

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

    def read_raw(self, path: Path) -> np.ndarray:
        return np.load(path.with_suffix(".npy"))

    def write_raw(self, path: Path, raw: np.ndarray) -> None:
        np.save(path.with_suffix(".npy"), raw)

    def state(self) -> dict[str, Any]:
        return {"kind": self.kind, "shape": self.shape, "max_value": self.max_value, "mean": self.mean, "std": self.std, "classes": self.classes}


KINDS = {p.kind: p for p in (TabularPreprocessor, ImagePreprocessor)}


def from_state(state: dict[str, Any]) -> TabularPreprocessor | ImagePreprocessor:
    """Rebuild a fitted preprocessor from its JSON state."""
    state = dict(state)
    return KINDS[state.pop("kind")](**state)
