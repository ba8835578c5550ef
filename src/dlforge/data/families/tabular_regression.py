"""Tabular regression: feature columns (numeric and categorical) and a numeric target column.

The features are prepared exactly as for tabular classification (TabularPreprocessor); the target
is standardised with train statistics so the network learns on a unit scale, and predictions go
back to natural units before anything is scored or served.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dlforge.data import validate
from dlforge.data.families.tabular_classification import TabularFeatures, TabularPreprocessor
from dlforge.data.spec import Spec


class TabularRegressionPreprocessor(TabularPreprocessor):
    """TabularPreprocessor's features plus a standardised target (train mean and std)."""

    def __init__(
        self, numeric: dict[str, list[float]], categorical: dict[str, list[Any]], target: list[float], **options
    ):
        super().__init__(numeric, categorical, classes=[], **options)
        self.target = target  # [mean, std] of the target on train

    @classmethod
    def fit(
        cls, train: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str], target: str, **options
    ) -> TabularRegressionPreprocessor:  # type: ignore[override]
        """The features' statistics from TabularPreprocessor.fit, then the target's."""
        features = TabularPreprocessor.fit(train, numeric, categorical, [], **options)
        y = train[target].astype("float64")
        state = {k: v for k, v in features.state().items() if k != "classes"}
        pre = cls(**state, target=[float(y.mean()), float(y.std(ddof=0)) or 1.0])
        pre.fit_report = features.fit_report
        return pre

    @property
    def model_args(self) -> dict[str, dict[str, Any]]:
        width = len(self.numeric) + sum(len(v) for v in self.categorical.values())
        return {"net": {"in_shape": [width], "num_classes": 1}, "module": {}}  # one output: the scaled target

    def transform_target(self, t: np.ndarray) -> np.ndarray:
        mean, std = self.target
        return ((np.asarray(t, dtype=np.float64) - mean) / std).astype(np.float32)

    def inverse_target(self, y: np.ndarray) -> np.ndarray:
        mean, std = self.target
        return np.asarray(y, dtype=np.float64) * std + mean

    def state(self) -> dict[str, Any]:
        return {**{k: v for k, v in super().state().items() if k != "classes"}, "target": self.target}


class TabularRegression(TabularFeatures, Spec):
    """A user's table: numeric, date/time and categorical feature columns and one numeric target column."""

    def __init__(
        self,
        source: Callable[[], pd.DataFrame],
        target: str,
        numeric: list[str],
        categorical: list[str],
        unknown_categories: str = "other",
        missing: str = "impute",
        min_category_rows: int = 5,
        datetime: list[str] | None = None,
        name: str = "data",
    ):
        super().__init__(source, name)
        self.target = target
        self.features(numeric, categorical, datetime, missing, unknown_categories, min_category_rows)

    def validate(self, df: pd.DataFrame) -> None:
        validate.require_columns(df, [self.target, *self.feature_columns], self.name)
        validate.no_missing(df, [self.target], self.name)  # a row without its target: always refused
        validate.numeric(df, [self.target], self.name)
        self.validate_features(df)

    def fit(self, df: pd.DataFrame, train: np.ndarray) -> TabularRegressionPreprocessor:
        return TabularRegressionPreprocessor.fit(
            df.iloc[train], self.numeric, self.categorical, self.target, **self.options()
        )

    def examples(self, df: pd.DataFrame, idx: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
        """Raw feature columns as a served model receives them, and the target in natural units."""
        rows = df.iloc[idx]
        return self.raw(rows), pd.to_numeric(rows[self.target]).to_numpy(np.float64)
