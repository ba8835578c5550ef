"""Data specs: what the raw columns of a use case mean. A spec is a `_target_` in conf/data/.

A spec validates raw rows, gives the labels to stratify on, turns rows into the raw model input
(a DataFrame of feature columns, or an array of images) and fits the preprocessor on train rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from dlforge.data import validate
from dlforge.data.preprocess import ImagePreprocessor, TabularPreprocessor


class _Classification:
    """Shared by specs whose target is one of a fixed list of classes."""

    stratify = True

    def __init__(self, source: Callable[[], pd.DataFrame], target: str, classes: list[Any], name: str = "data"):
        self.source, self.target, self.classes, self.name = source, target, list(classes), name

    def load(self) -> pd.DataFrame:
        return self.source()

    def validate(self, df: pd.DataFrame) -> None:
        validate.require_columns(df, [self.target, *self.feature_columns], self.name)
        validate.no_missing(df, [self.target, *self.feature_columns], self.name)
        validate.allowed_values(df, self.target, self.classes, self.name)

    def labels(self, df: pd.DataFrame) -> np.ndarray:
        return df[self.target].map({c: i for i, c in enumerate(self.classes)}).to_numpy(np.int64)

    feature_columns: list[str]


class TabularClassification(_Classification):
    """Feature columns (numeric and categorical) and a class label; binary puts the positive class last."""

    def __init__(self, source: Callable[[], pd.DataFrame], target: str, classes: list[Any], numeric: list[str], categorical: list[str], name: str = "data"):
        super().__init__(source, target, classes, name)
        self.numeric, self.categorical = list(numeric), list(categorical)
        self.feature_columns = [*self.numeric, *self.categorical]

    def validate(self, df: pd.DataFrame) -> None:
        super().validate(df)
        validate.numeric(df, self.numeric, self.name)

    def raw(self, df: pd.DataFrame) -> pd.DataFrame:
        out = df[self.feature_columns].copy()
        out[self.numeric] = out[self.numeric].astype("float64")
        out[self.categorical] = out[self.categorical].astype(str)
        return out.reset_index(drop=True)

    def fit(self, train: pd.DataFrame) -> TabularPreprocessor:
        return TabularPreprocessor.fit(train, self.numeric, self.categorical, self.classes)


class ImageClassification(_Classification):
    """Images stored one per row as pixel columns p0..p{H*W-1}, values in [0, max_value]."""

    def __init__(self, source: Callable[[], pd.DataFrame], target: str, classes: list[Any], shape: list[int], max_value: float, name: str = "data"):
        super().__init__(source, target, classes, name)
        self.shape, self.max_value = list(shape), float(max_value)
        self.feature_columns = [f"p{i}" for i in range(int(np.prod(self.shape)))]

    def validate(self, df: pd.DataFrame) -> None:
        super().validate(df)
        validate.numeric(df, self.feature_columns, self.name, low=0.0, high=self.max_value)

    def raw(self, df: pd.DataFrame) -> np.ndarray:
        return df[self.feature_columns].to_numpy(np.float32).reshape(-1, *self.shape)

    def fit(self, train: pd.DataFrame) -> ImagePreprocessor:
        return ImagePreprocessor.fit(self.raw(train), self.shape, self.max_value, self.classes)
