"""Tabular classification: feature columns (numeric, date/time, categorical) and a class label.

The spec and its preprocessing (standardised numbers, one-hot categories with train statistics); the
tabular regression family reads its features the same way (TabularFeatures, TabularPreprocessor).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dlforge.data import columns as cols
from dlforge.data import validate
from dlforge.data.preprocess import Preprocessor, _Classes, check_min_rows, check_policy
from dlforge.data.spec import _Classification
from dlforge.errors import UserError


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


class TabularFeatures:
    """The feature columns of a user's table and how gaps, rare and unseen categories are handled.

    missing: impute | refuse (data.missing); unknown_categories: other | refuse; min_category_rows:
    train rows a category needs to keep its own level; datetime: date/time columns expanded into
    columns.DATE_PARTS features. Shared by the classification and regression specs.
    """

    name: str

    def features(self, numeric, categorical, datetime, missing, unknown_categories, min_category_rows) -> None:
        self.numeric, self.categorical, self.datetime = list(numeric), list(categorical), list(datetime or [])
        self.missing = check_policy("missing", missing)
        self.unknown_categories = check_policy("unknown_categories", unknown_categories)
        self.min_category_rows = check_min_rows(min_category_rows)
        self.feature_columns = [*self.numeric, *self.datetime, *self.categorical]

    def validate_features(self, df: pd.DataFrame) -> None:
        if self.missing == "refuse":
            validate.no_missing(df, self.feature_columns, self.name)
        validate.numeric(df, self.numeric, self.name)
        validate.dates(df, self.datetime, self.name)

    def options(self) -> dict[str, Any]:
        """TabularPreprocessor.fit's keyword arguments."""
        return {
            "unknown": self.unknown_categories,
            "missing": self.missing,
            "min_rows": self.min_category_rows,
            "datetime": self.datetime,
        }

    def raw(self, df: pd.DataFrame) -> pd.DataFrame:
        return tabular_raw(df, self.numeric, self.categorical, self.datetime, self.name)


def tabular_raw(
    df: pd.DataFrame, numeric: list[str], categorical: list[str], datetime: list[str] = (), where: str = "input"
) -> pd.DataFrame:
    """Feature columns as a served model receives them: numbers as float64 (NaN for a gap), dates as ISO text
    and categories as canonical strings (None for a gap). The rows keep their index and file (attrs), so a
    refusal at prepare names the file line."""
    out = pd.DataFrame(index=df.index)
    for c in numeric:
        out[c] = cols.numbers(df[c])
    for c in datetime:
        out[c] = cols.raw_dates(df[c])
    for c in categorical:
        out[c] = cols.raw_categories(df[c])
    out.attrs = {**df.attrs, validate.WHERE: where}
    return out


class TabularClassification(TabularFeatures, _Classification):
    """Feature columns (numeric, date/time and categorical) and a class label; binary puts the positive class last."""

    def __init__(
        self,
        source: Callable[[], pd.DataFrame],
        target: str,
        classes: list[Any],
        numeric: list[str],
        categorical: list[str],
        unknown_categories: str = "other",
        missing: str = "impute",
        min_category_rows: int = 5,
        datetime: list[str] | None = None,
        name: str = "data",
    ):
        super().__init__(source, target, classes, name)
        self.features(numeric, categorical, datetime, missing, unknown_categories, min_category_rows)

    def validate(self, df: pd.DataFrame) -> None:
        super().validate(df)
        self.validate_features(df)

    def fit(self, df: pd.DataFrame, train: np.ndarray) -> TabularPreprocessor:
        return TabularPreprocessor.fit(df.iloc[train], self.numeric, self.categorical, self.classes, **self.options())
