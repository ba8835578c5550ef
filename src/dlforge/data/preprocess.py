"""Preprocessing fitted on the training split, stored as JSON, applied again when serving.

Pure numpy/pandas: the served model and the prepare stage share this code, so a raw request is
transformed exactly as the training rows were.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dlforge import class_names
from dlforge.data import columns as cols
from dlforge.data import validate
from dlforge.errors import UserError

_LAST = threading.local()  # per thread: id(preprocessor) -> its last transform's counts (requests run in threads)


class Preprocessor:
    """Fitted on train rows at prepare time, stored as JSON, applied again to every served request.

    Subclasses give `transform` (raw inputs → model-ready array), `state` (their constructor
    arguments, JSON-able) and `model_args` (shape arguments for the network and the module).
    Targets are model-ready as they are unless a subclass scales them.
    """

    fit_report: dict[str, Any] = {}  # what fitting decided, for prepare's report (not stored)

    def transform(self, raw: Any) -> np.ndarray:
        raise NotImplementedError

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        """What this thread's last transform imputed and mapped: {"imputed": {column: rows}, "unseen": {column: rows}}."""
        return _LAST.__dict__.get(id(self), {})

    def set_counts(self, counts: dict[str, dict[str, int]]) -> None:
        _LAST.__dict__[id(self)] = counts

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
        return {"class": class_names.stable(f"{type(self).__module__}.{type(self).__qualname__}"), **self.state()}


class _Classes:
    """Mixin for preprocessors of classification data: the label list gives the output size."""

    classes: list[Any]

    def transform_target(self, t: np.ndarray) -> np.ndarray:
        return np.asarray(t, dtype=np.int64)


UNKNOWN_POLICIES = ("other", "refuse")  # a category never seen in train: encode it as <other>, or refuse the row
MISSING_POLICIES = ("impute", "refuse")  # a gap in a feature column: impute it (counted), or refuse the row
OLD_UNKNOWN = {"ignore": "other", "error": "refuse"}  # the names before <other> (old configs, stored models)


def check_policy(key: str, value: str) -> str:
    """A data.missing / data.unknown_categories value (the old unknown-category names read as today's)."""
    allowed = UNKNOWN_POLICIES if key == "unknown_categories" else MISSING_POLICIES
    value = OLD_UNKNOWN.get(value, value) if key == "unknown_categories" else value
    if value not in allowed:
        raise UserError(f"config key 'data.{key}': expected one of {list(allowed)}, got {value!r}")
    return value


def check_min_rows(value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise UserError(f"config key 'data.min_category_rows': expected an integer >= 1, got {value!r}")
    return value


class TabularPreprocessor(_Classes, Preprocessor):
    """Numeric features standardised, categorical columns one-hot encoded, with train statistics.

    numeric: feature -> [mean, std] on train after imputation. A feature is a numeric column or, when
      named in `derived` ({feature: [column, part]}), a part of a date/time column (columns.DATE_PARTS)
      or `missing`: the 0/1 gap indicator of a column that had gaps in train.
    categorical: column -> levels: train values with at least data.min_category_rows rows (MISSING is
      the level of a gap), then OTHER when some were rarer; `rare`: column -> those rarer values.
    fill: feature -> train median, for a gap when missing="impute" (missing="refuse" refuses the row).
    unknown: a value never seen in train encodes as OTHER ("other"; all zeros where the column has no
      OTHER level, as in models stored before it) or is refused naming row and column ("refuse").
    What a transform imputed and mapped is in `counts` (per thread) for the caller to report.
    """

    def __init__(
        self,
        numeric: dict[str, list[float]],
        categorical: dict[str, list[Any]],
        classes: list[Any],
        unknown: str = "refuse",
        missing: str = "refuse",
        fill: dict[str, float] | None = None,
        derived: dict[str, list[str]] | None = None,
        rare: dict[str, list[str]] | None = None,
    ):
        self.numeric, self.categorical, self.classes = numeric, categorical, classes
        self.unknown, self.missing = check_policy("unknown_categories", unknown), check_policy("missing", missing)
        self.fill, self.derived, self.rare = dict(fill or {}), dict(derived or {}), dict(rare or {})

    @classmethod
    def fit(
        cls,
        train: pd.DataFrame,
        numeric: Sequence[str],
        categorical: Sequence[str],
        classes: list[Any],
        unknown: str = "other",
        missing: str = "impute",
        min_rows: int = 1,
        datetime: Sequence[str] = (),
    ) -> TabularPreprocessor:
        """Medians, gap indicators, means and stds of the numeric features; the levels of each categorical column."""
        check_min_rows(min_rows)
        derived = {f"{c}.{p}": [c, p] for c in datetime for p in cols.DATE_PARTS}
        values = {c: cols.numbers(train[c]).to_numpy() for c in numeric}
        stamps = {c: cols.timestamps(train[c]) for c in datetime}
        values.update({f: cols.date_part(stamps[c], p) for f, (c, p) in derived.items()})
        fill, gaps = {}, {c: cols.is_missing(train[c]) for c in [*numeric, *datetime]}
        if check_policy("missing", missing) == "impute":
            for c, gap in gaps.items():
                if gap.all():
                    raise UserError(f"data: column '{c}': no values in the train split; drop it from the features")
            fill = {f: float(np.nanmedian(v)) for f, v in values.items()}
            values = {f: np.where(np.isnan(v), fill[f], v) for f, v in values.items()}
            for c, gap in gaps.items():
                if gap.any():
                    derived[f"{c}.missing"], values[f"{c}.missing"] = [c, "missing"], gap.astype(np.float64)
        stats = {f: [float(v.mean()), float(v.std()) or 1.0] for f, v in values.items()}
        levels, rare, report = {}, {}, {}
        for c in categorical:
            counts = pd.Series(cols.categories(train[c])).value_counts()
            few = counts[counts < min_rows]
            levels[c] = sorted(counts.index[counts >= min_rows]) + ([cols.OTHER] if len(few) else [])
            if len(few):
                rare[c] = sorted(few.index)
                report[c] = {"levels": len(few), "rows": int(few.sum())}
        pre = cls(stats, levels, classes, unknown, missing, fill, derived, rare)
        pre.fit_report = {
            "missing": pre.missing,
            "unknown_categories": pre.unknown,
            "min_category_rows": min_rows,
            "rare": report,
            "indicators": sorted(f for f, (_, p) in derived.items() if p == "missing"),
            "datetime": {c: [f"{c}.{p}" for p in cols.DATE_PARTS] for c in datetime},
        }
        return pre

    @property
    def columns(self) -> list[str]:
        """The raw columns a request needs: numeric, date/time, categorical."""
        dates = sorted({c for c, p in self.derived.values() if p != "missing"})
        return [*(f for f in self.numeric if f not in self.derived), *dates, *self.categorical]

    @property
    def model_args(self) -> dict[str, dict[str, Any]]:
        width = len(self.numeric) + sum(len(v) for v in self.categorical.values())
        return {
            "net": {"in_shape": [width], "num_classes": len(self.classes)},
            "module": {"num_classes": len(self.classes)},
        }

    def transform(self, raw: Any) -> np.ndarray:
        df = raw if isinstance(raw, pd.DataFrame) else pd.DataFrame(raw)
        where = df.attrs.get(validate.WHERE, "input")
        validate.require_columns(df, self.columns, where)
        if self.missing == "refuse":
            validate.no_missing(df, self.columns, where)
        dates = sorted({c for c, p in self.derived.values() if p != "missing"})
        validate.numeric(df, [f for f in self.numeric if f not in self.derived], where)
        validate.dates(df, dates, where)
        stamps = {c: cols.timestamps(df[c]) for c in dates}
        imputed = {c: int(n) for c in [*self.columns] if (n := cols.is_missing(df[c]).sum())}
        parts = [self._feature(df, stamps, f, m, s)[:, None] for f, (m, s) in self.numeric.items()]
        unseen = {}
        for c, levels in self.categorical.items():
            onehot, unseen[c] = self._onehot(df, c, levels, where)
            parts.append(onehot)
        self.set_counts({"imputed": imputed, "unseen": {c: n for c, n in unseen.items() if n}})
        return np.concatenate(parts, axis=1).astype(np.float32)

    def _feature(self, df: pd.DataFrame, stamps: dict, feature: str, mean: float, std: float) -> np.ndarray:
        column, part = self.derived.get(feature, (feature, None))
        if part == "missing":
            x = cols.is_missing(df[column]).astype(np.float64)
        else:
            x = cols.numbers(df[column]).to_numpy() if part is None else cols.date_part(stamps[column], part)
            x = np.where(np.isnan(x), self.fill.get(feature, np.nan), x)
        return (x - mean) / std

    def _onehot(self, df: pd.DataFrame, column: str, levels: list[str], where: str) -> tuple[np.ndarray, int]:
        """The column's one-hot block and how many rows held a value never seen in train."""
        values = cols.categories(df[column])
        index = pd.Index(levels).get_indexer(values)
        new = (index < 0) & (values != cols.MISSING) & ~np.isin(values, self.rare.get(column, []))
        if new.any() and self.unknown == "refuse":
            row = int(np.argmax(new))
            known = [v for v in levels if v != cols.OTHER]
            raise UserError(
                f"{where}: {validate.at(df, row, column)}: unknown category {cols.short(values[row])} "
                f"(known: {cols.listing(known)})"
            )
        index[index < 0] = levels.index(cols.OTHER) if cols.OTHER in levels else -1
        onehot = np.zeros((len(values), len(levels)))
        hit = np.flatnonzero(index >= 0)
        onehot[hit, index[hit]] = 1.0
        return onehot, int(new.sum())

    def state(self) -> dict[str, Any]:
        return {
            "numeric": self.numeric,
            "categorical": self.categorical,
            "classes": self.classes,
            "unknown": self.unknown,
            "missing": self.missing,
            "fill": self.fill,
            "derived": self.derived,
            "rare": self.rare,
        }


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
    module, _, name = class_names.resolve(state.pop("class")).rpartition(".")
    return getattr(importlib.import_module(module), name)(**state)
