"""Data specs: what the raw rows of a use case mean. A spec is a `_target_` in conf/data/.

The prepare stage drives every spec the same way (pipelines/prepare.py):

    df = spec.load(); spec.validate(df)
    idx = spec.split(df, val, test, seed)       # row positions per split: random, stratified, by time, ...
    pre = spec.fit(df, idx["train"])            # preprocessing fitted on train rows only
    raw, t = spec.examples(df, rows)            # raw model inputs (as served) and natural-unit targets of
                                                # row positions: called a chunk of each split at a time
    extras = spec.extras(df, idx, pre)          # other arrays fitted at prepare time (optional)
    gaps = spec.gaps(df, rows)                  # missing values it imputes per column (prepare's report)

so a new kind of data is a new spec class (one module per family in dlforge.data.families), never a new stage.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from dlforge.data import validate
from dlforge.data.prepared import CHUNK_ROWS
from dlforge.data.preprocess import Preprocessor
from dlforge.data.split import random_split


class Spec:
    """Defaults shared by every spec: load from `source`, random split, no extras."""

    def __init__(self, source: Callable[[], pd.DataFrame], name: str = "data"):
        self.source, self.name = source, name

    def load(self) -> pd.DataFrame:
        return self.source()

    @property
    def chunk_rows(self) -> int:
        """Rows prepare turns into model-ready arrays and writes at a time (dlforge.data.prepared)."""
        return CHUNK_ROWS

    def validate(self, df: pd.DataFrame) -> None:
        """Raise UserError naming the column and the first bad row."""

    def strata(self, df: pd.DataFrame) -> np.ndarray | None:
        """Labels to stratify the random split on, or None."""
        return None

    def check_rows(self, df: pd.DataFrame) -> None:
        """Enough rows for a train, a val and a test row (split calls it: validation has passed)."""
        validate.enough_rows(df, self.name, 3)

    def split(self, df: pd.DataFrame, val: float, test: float, seed: int) -> dict[str, np.ndarray]:
        self.check_rows(df)
        return random_split(len(df), val, test, seed, self.strata(df))

    def fit(self, df: pd.DataFrame, train: np.ndarray) -> Preprocessor:
        raise NotImplementedError

    def examples(self, df: pd.DataFrame, idx: np.ndarray) -> tuple[Any, np.ndarray]:
        raise NotImplementedError

    def extras(self, df: pd.DataFrame, idx: dict[str, np.ndarray], pre: Preprocessor) -> dict[str, np.ndarray]:
        return {}

    def gaps(self, df: pd.DataFrame, idx: np.ndarray) -> dict[str, int]:
        """Missing values per feature column among rows `idx` that data.missing=impute fills (prepare's report)."""
        if getattr(self, "missing", "refuse") != "impute":
            return {}
        counts = df[getattr(self, "feature_columns", [])].iloc[idx].isna().sum()
        return {str(c): int(n) for c, n in counts.items() if n}


class _Classification(Spec):
    """Shared by specs whose target is one of a fixed list of classes."""

    feature_columns: list[str]
    missing = "refuse"  # a gap in a feature column: refused unless the spec imputes it (data.missing)

    def __init__(self, source: Callable[[], pd.DataFrame], target: str, classes: list[Any], name: str = "data"):
        super().__init__(source, name)
        self.target, self.classes = target, list(classes)

    def validate(self, df: pd.DataFrame) -> None:
        validate.require_columns(df, [self.target, *self.feature_columns], self.name)
        validate.no_missing(df, [self.target], self.name)  # a row without its label: always refused
        if self.missing == "refuse":
            validate.no_missing(df, self.feature_columns, self.name)
        validate.allowed_values(df, self.target, self.classes, self.name)

    def check_rows(self, df: pd.DataFrame) -> None:
        """Every class needs a row in train, val and test: at least 3 rows of each."""
        validate.enough_rows(df, self.name, 3 * len(self.classes))
        validate.every_class_present(df, self.target, self.classes, self.name, per_class=3)

    def labels(self, df: pd.DataFrame) -> np.ndarray:
        return df[self.target].map({c: i for i, c in enumerate(self.classes)}).to_numpy(np.int64)

    def strata(self, df: pd.DataFrame) -> np.ndarray:
        return self.labels(df)

    def raw(self, df: pd.DataFrame) -> Any:
        raise NotImplementedError

    def examples(self, df: pd.DataFrame, idx: np.ndarray) -> tuple[Any, np.ndarray]:
        rows = df.iloc[idx]
        return self.raw(rows), self.labels(rows)
