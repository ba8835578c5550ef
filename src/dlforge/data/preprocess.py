"""Preprocessing fitted on the training split, stored as JSON, applied again when serving.

Pure numpy/pandas: the served model and the prepare stage share this code, so a raw request is
transformed exactly as the training rows were.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dlforge import names
from dlforge.data import validate
from dlforge.errors import UserError


class Preprocessor:
    """Fitted on train rows at prepare time, stored as JSON, applied again to every served request.

    Subclasses give `transform` (raw inputs → model-ready array), `state` (their constructor
    arguments, JSON-able) and `model_args` (shape arguments for the network and the module).
    Targets are model-ready as they are unless a subclass scales them.
    """

    def transform(self, raw: Any) -> np.ndarray:
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def model_args(self) -> dict[str, dict[str, Any]]:
        """{"net": keyword arguments for the network, "module": for the LightningModule}."""
        raise NotImplementedError

    def transform_target(self, t: np.ndarray) -> np.ndarray:
        return t

    def inverse_target(self, y: np.ndarray) -> np.ndarray:
        return y

    def to_state(self) -> dict[str, Any]:
        return {"class": names.stable(f"{type(self).__module__}.{type(self).__qualname__}"), **self.state()}


class _Classes:
    """Mixin for preprocessors of classification data: the label list gives the output size."""

    classes: list[Any]

    def transform_target(self, t: np.ndarray) -> np.ndarray:
        return np.asarray(t, dtype=np.int64)


UNKNOWN_POLICIES = ("error", "ignore")  # a category not seen in train: refuse the request, or encode it as all zeros
log = logging.getLogger("dlforge.serving")


def check_unknown_policy(value: str) -> str:
    if value not in UNKNOWN_POLICIES:
        raise UserError(
            f"config key 'data.unknown_categories': expected one of {list(UNKNOWN_POLICIES)}, got {value!r}"
        )
    return value


class TabularPreprocessor(_Classes, Preprocessor):
    """Standardises numeric columns and one-hot encodes categorical ones.

    A category not seen in train follows `unknown` (data.unknown_categories): `error` refuses the
    request naming the column and row; `ignore` encodes it as all zeros and logs one warning line
    counting the rows per column (the rest of the batch is scored as usual).
    """

    def __init__(
        self,
        numeric: dict[str, list[float]],
        categorical: dict[str, list[Any]],
        classes: list[Any],
        unknown: str = "error",
    ):
        self.numeric = numeric  # column -> [mean, std] from train
        self.categorical = categorical  # column -> categories seen in train
        self.classes = classes
        self.unknown = check_unknown_policy(unknown)
        self.unknown_counts: dict[str, int] = {}  # rows per column encoded as all zeros by the last transform

    @classmethod
    def fit(
        cls,
        train: pd.DataFrame,
        numeric: Sequence[str],
        categorical: Sequence[str],
        classes: list[Any],
        unknown: str = "error",
    ) -> TabularPreprocessor:
        stats = {c: [float(train[c].mean()), float(train[c].std(ddof=0)) or 1.0] for c in numeric}
        cats = {c: _categories(train[c]) for c in categorical}
        return cls(stats, cats, classes, unknown)

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    @property
    def model_args(self) -> dict[str, dict[str, Any]]:
        width = len(self.numeric) + sum(len(v) for v in self.categorical.values())
        return {
            "net": {"in_shape": [width], "num_classes": len(self.classes)},
            "module": {"num_classes": len(self.classes)},
        }

    def transform(self, raw: Any) -> np.ndarray:
        df = raw if isinstance(raw, pd.DataFrame) else pd.DataFrame(raw)
        where = "input"
        validate.require_columns(df, self.columns, where)
        validate.no_missing(df, self.columns, where)
        validate.numeric(df, list(self.numeric), where)
        parts = [((pd.to_numeric(df[c]).to_numpy(np.float64) - m) / s)[:, None] for c, (m, s) in self.numeric.items()]
        self.unknown_counts = {}
        for c, cats in self.categorical.items():
            values = df[c].astype(str)
            unknown = ~values.isin(cats).to_numpy()
            if unknown.any() and self.unknown == "error":
                row = int(np.argmax(unknown))
                raise UserError(
                    f"{where}: {validate.at(df, row, c)}: unknown category {values.iloc[row]!r} (known: {cats})"
                )
            if unknown.any():
                self.unknown_counts[c] = int(unknown.sum())
            parts.append((values.to_numpy()[:, None] == np.array(cats)[None, :]).astype(np.float64))
        if self.unknown_counts:
            log.warning(
                "input: unknown categories encoded as all zeros (data.unknown_categories=ignore): "
                + ", ".join(f"column '{c}' {n} of {len(df)} rows" for c, n in self.unknown_counts.items())
            )
        return np.concatenate(parts, axis=1).astype(np.float32)

    def state(self) -> dict[str, Any]:
        return {
            "numeric": self.numeric,
            "categorical": self.categorical,
            "classes": self.classes,
            "unknown": self.unknown,
        }


def _categories(column: pd.Series) -> list[str]:
    """The sorted distinct values of `column` as strings (a categorical column: its used categories, no row copies)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return sorted(set(column.cat.remove_unused_categories().cat.categories.astype(str).tolist()))
    return sorted(column.astype(str).unique().tolist())


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


def from_state(state: dict[str, Any]) -> Preprocessor:
    """Rebuild a fitted preprocessor from its JSON state (`class` names it, the rest are its arguments)."""
    state = dict(state)
    module, _, name = names.resolve(state.pop("class")).rpartition(".")
    return getattr(importlib.import_module(module), name)(**state)
