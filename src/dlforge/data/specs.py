"""Data specs: what the raw rows of a use case mean. A spec is a `_target_` in conf/data/.

The prepare stage drives every spec the same way (pipelines/prepare.py):

    df = spec.load(); spec.validate(df)
    idx = spec.split(df, val, test, seed)       # row positions per split: random, stratified, by time, ...
    pre = spec.fit(df, idx["train"])            # preprocessing fitted on train rows only
    raw, t = spec.examples(df, rows)            # raw model inputs (as served) and natural-unit targets of
                                                # row positions: called a chunk of each split at a time
    extras = spec.extras(df, idx, pre)          # other arrays fitted at prepare time (optional)
    gaps = spec.gaps(df, rows)                  # missing values it imputes per column (prepare's report)

so a new kind of data is a new spec class, never a new stage.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from dlforge.data import columns as cols
from dlforge.data import validate
from dlforge.data.prepared import CHUNK_BYTES, CHUNK_ROWS
from dlforge.data.preprocess import (
    ImagePreprocessor,
    Preprocessor,
    TabularPreprocessor,
    check_min_rows,
    check_policy,
)
from dlforge.data.split import random_split


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
