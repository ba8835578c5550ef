"""Univariate time series: one value per timestamp, forecast from a window of past values.

A sample is the `window` values that end `horizon` steps before its target. The series is split by
time (chronological_split on the target positions): a val/test window may reach back into earlier
splits (those values were observed before the target, so that is not leakage), but no target
falls outside its split and the scaling is fitted on the training span only. The served model
takes raw windows (columns lag_{window} … lag_1, oldest first) and returns the forecast.

Pure numpy/pandas: prepare and the served model both import this module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from dlforge.data import validate
from dlforge.data.preprocess import Preprocessor
from dlforge.data.spec import Spec
from dlforge.data.split import chronological_split
from dlforge.errors import UserError
from dlforge.keys import SERIES, TIME, positions


def lag_columns(window: int) -> list[str]:
    """Column names of a raw window, oldest value first: lag_{window}, …, lag_1."""
    return [f"lag_{k}" for k in range(window, 0, -1)]


class TimeSeriesPreprocessor(Preprocessor):
    """Standardises raw windows and targets with the mean/std of the training span."""

    def __init__(self, window: int, horizon: int, mean: float, std: float):
        self.window, self.horizon, self.mean, self.std = window, horizon, mean, std

    @classmethod
    def fit(cls, span: np.ndarray, window: int, horizon: int) -> TimeSeriesPreprocessor:
        return cls(window, horizon, float(span.mean()), float(span.std()) or 1.0)

    @property
    def model_args(self) -> dict[str, dict[str, Any]]:
        return {"net": {"input_size": 1}, "module": {}}

    def windows(self, raw: Any) -> np.ndarray:
        """Raw past values as a float (n, window) array; UserError names the bad row and lag."""
        columns = lag_columns(self.window)
        if isinstance(raw, pd.DataFrame):
            df = raw[columns] if set(columns) <= set(raw.columns) else raw
        else:
            a = np.asarray(raw, dtype=object)
            a = a[None] if a.ndim == 1 else a
            if a.ndim != 2:
                raise UserError(
                    f"input: expected rows of {self.window} past values (n, {self.window}), got an array of shape {a.shape}"
                )
            df = pd.DataFrame(a)
        if df.shape[1] != self.window:
            raise UserError(
                f"input: expected {self.window} past values per row (columns {columns[0]} … {columns[-1]}, oldest first), got {df.shape[1]}"
            )
        df = df.set_axis(columns, axis=1).reset_index(drop=True)
        validate.numeric(df, columns, "input")
        values = df.apply(pd.to_numeric)
        validate.no_missing(values, columns, "input")
        return values.to_numpy(np.float64)

    def transform(self, raw: Any) -> np.ndarray:
        return ((self.windows(raw) - self.mean) / self.std).astype(np.float32)[..., None]

    def transform_target(self, t: np.ndarray) -> np.ndarray:
        return ((np.asarray(t, dtype=np.float64) - self.mean) / self.std).astype(np.float32)

    def inverse_target(self, y: np.ndarray) -> np.ndarray:
        return np.asarray(y, dtype=np.float64) * self.std + self.mean

    def state(self) -> dict[str, Any]:
        return {"window": self.window, "horizon": self.horizon, "mean": self.mean, "std": self.std}


class TimeSeries(Spec):
    """A `time` column (timestamps or numbers) and a numeric `value` column; rows in any order."""

    def __init__(
        self,
        source: Callable[[], pd.DataFrame],
        time: str,
        value: str,
        window: int,
        horizon: int = 1,
        parse_dates: bool = True,
        regular: bool = True,
        name: str = "data",
    ):
        super().__init__(source, name)
        if window < 1 or horizon < 1:
            raise UserError(
                f"config key 'data.window'/'data.horizon': both must be at least 1, got {window} and {horizon}"
            )
        self.time, self.value, self.window, self.horizon, self.parse_dates = time, value, window, horizon, parse_dates
        self.regular = regular  # evenly spaced timestamps required: a gap is an error

    def _times(self, df: pd.DataFrame) -> pd.Series:
        if self.parse_dates:
            return pd.to_datetime(df[self.time], errors="coerce", format="mixed")
        return pd.to_numeric(df[self.time], errors="coerce")

    def load(self) -> pd.DataFrame:
        """The rows sorted by time; the index keeps each row's position in the source for error messages."""
        df = self.source().reset_index(drop=True)
        if self.time not in df.columns:
            return df  # validate names the missing column
        return df.iloc[np.argsort(self._times(df).to_numpy(), kind="stable")]

    def validate(self, df: pd.DataFrame) -> None:
        validate.require_columns(df, [self.time, self.value], self.name)
        for column, bad, why in (
            (self.time, df[self.time].isna(), "missing timestamp"),
            (self.value, df[self.value].isna(), "missing value (NaN)"),
            (self.value, pd.to_numeric(df[self.value], errors="coerce").isna(), "expected a number"),
            (self.time, self._times(df).isna(), "cannot parse timestamp" if self.parse_dates else "expected a number"),
            (self.time, self._times(df).duplicated(), "duplicate timestamp"),
        ):
            if bad.any():
                label = bad.index[bad.to_numpy()].min()  # the first offending row of the source
                where = validate.at(df, df.index.get_loc(label), column)
                raise UserError(f"{self.name}: {where}: {why} ({df.loc[label, column]!r})")
        values = pd.to_numeric(df[self.value])
        validate.numeric(df.assign(**{self.value: values}), [self.value], self.name)  # no inf
        if self.regular:
            self._no_gaps(df)

    def _no_gaps(self, df: pd.DataFrame) -> None:
        """Evenly spaced timestamps (a calendar frequency for dates): name the first row after a gap."""
        times = self._times(df)
        if len(times) < 3:
            return  # split names too-short series
        if self.parse_dates:
            freq = pd.infer_freq(pd.DatetimeIndex(times.iloc[:3]))
            if freq is None:
                bad, step = 2, "the spacing of the first three"
            else:
                expected = pd.date_range(times.iloc[0], periods=len(times), freq=freq)
                off = np.flatnonzero(expected.to_numpy() != times.to_numpy())
                bad, step = (int(off[0]) if len(off) else -1), f"one step of {freq}"
        else:
            diffs = np.diff(times.to_numpy(np.float64))
            step_value = float(np.median(diffs))
            off = np.flatnonzero(~np.isclose(diffs, step_value, rtol=1e-2, atol=0))
            bad, step = (int(off[0]) + 1 if len(off) else -1), f"one step of {step_value:g}"
        if bad >= 0:
            where = validate.at(df, bad, self.time)
            raise UserError(
                f"{self.name}: {where}: gap in the series ({df[self.time].iloc[bad - 1]!r} → {df[self.time].iloc[bad]!r}); "
                f"expected {step} (fill the missing steps, or set data.regular=false)"
            )

    def split(self, df: pd.DataFrame, val: float, test: float, seed: int) -> dict[str, np.ndarray]:
        """Target positions per split, by time; train drops the first targets that lack a full window."""
        idx = chronological_split(len(df), val, test)
        idx["train"] = idx["train"][idx["train"] >= self.window + self.horizon - 1]
        short = [s for s, i in idx.items() if len(i) < 2]
        if short:
            raise UserError(
                f"{self.name}: {len(df)} rows leave fewer than 2 {short[0]} targets with a window of {self.window} (shorten data.window or add rows)"
            )
        return idx

    def series(self, df: pd.DataFrame) -> np.ndarray:
        return pd.to_numeric(df[self.value]).to_numpy(np.float64)

    def fit(self, df: pd.DataFrame, train: np.ndarray) -> TimeSeriesPreprocessor:
        return TimeSeriesPreprocessor.fit(self.series(df)[: train.max() + 1], self.window, self.horizon)

    def examples(self, df: pd.DataFrame, idx: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
        """Raw windows ending `horizon` steps before each target, and the targets."""
        values = self.series(df)
        ends = idx - self.horizon + 1  # one past each window's last value
        windows = np.stack([values[e - self.window : e] for e in ends])
        return pd.DataFrame(windows, columns=lag_columns(self.window)), values[idx]

    def extras(self, df: pd.DataFrame, idx: dict[str, np.ndarray], pre: Preprocessor) -> dict[str, np.ndarray]:
        """The whole series, its times and each split's target positions: the baselines and plots need them."""
        times = self._times(df).to_numpy()
        return {SERIES: self.series(df), TIME: times, **{positions(s): i for s, i in idx.items()}}
