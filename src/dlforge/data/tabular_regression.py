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
from dlforge.data.preprocess import TabularPreprocessor, check_unknown_policy
from dlforge.data.specs import Spec, tabular_raw


class TabularRegressionPreprocessor(TabularPreprocessor):
    """TabularPreprocessor's features plus a standardised target (train mean and std)."""

    def __init__(
        self,
        numeric: dict[str, list[float]],
        categorical: dict[str, list[Any]],
        target: list[float],
        unknown: str = "error",
    ):
        super().__init__(numeric, categorical, classes=[], unknown=unknown)
        self.target = target  # [mean, std] of the target on train

    @classmethod
    def fit(
        cls,
        train: pd.DataFrame,
        numeric: Sequence[str],
        categorical: Sequence[str],
        target: str,
        unknown: str = "error",
    ) -> TabularRegressionPreprocessor:  # type: ignore[override]
        """The features' statistics from TabularPreprocessor.fit, then the target's."""
        features = TabularPreprocessor.fit(train, numeric, categorical, [])
        y = train[target].astype("float64")
        return cls(features.numeric, features.categorical, [float(y.mean()), float(y.std(ddof=0)) or 1.0], unknown)

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
        return {
            "numeric": self.numeric,
            "categorical": self.categorical,
            "target": self.target,
            "unknown": self.unknown,
        }


class TabularRegression(Spec):
    """A user's table: numeric and categorical feature columns and one numeric target column."""

    def __init__(
        self,
        source: Callable[[], pd.DataFrame],
        target: str,
        numeric: list[str],
        categorical: list[str],
        unknown_categories: str = "error",
        name: str = "data",
    ):
        super().__init__(source, name)
        self.target, self.numeric, self.categorical = target, list(numeric), list(categorical)
        self.unknown_categories = check_unknown_policy(
            unknown_categories
        )  # served rows with a category unseen in train: error | ignore
        self.feature_columns = [*self.numeric, *self.categorical]

    def validate(self, df: pd.DataFrame) -> None:
        validate.require_columns(df, [self.target, *self.feature_columns], self.name)
        validate.no_missing(df, [self.target, *self.feature_columns], self.name)
        validate.numeric(df, [self.target, *self.numeric], self.name)

    def fit(self, df: pd.DataFrame, train: np.ndarray) -> TabularRegressionPreprocessor:
        return TabularRegressionPreprocessor.fit(
            df.iloc[train], self.numeric, self.categorical, self.target, self.unknown_categories
        )

    def examples(self, df: pd.DataFrame, idx: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
        """Raw feature columns as a served model receives them, and the target in natural units."""
        rows = df.iloc[idx]
        return tabular_raw(rows, self.numeric, self.categorical), pd.to_numeric(rows[self.target]).to_numpy(np.float64)
