"""Raw table columns → canonical values, shared by prepare and the served model (pure numpy/pandas).

- numbers: float64 with NaN for a gap; booleans are 0/1 (`True`, `np.bool_`, a CSV's `true`)
- categories: one canonical string per value, so a CSV's `415`, a gappy CSV's `415.0`, a JSON `415`
  and a JSON `"415"` are the same category; a gap (NaN, None, JSON null) is MISSING
- dates and times: ISO 8601 text or timestamps → the DATE_PARTS features (NaN for a gap)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

MISSING = "<missing>"  # the category of a gap in a categorical column (data.missing=impute)
OTHER = "<other>"  # the category shared by rare train values and values never seen in train
DATE_PARTS = ("year", "month", "day", "weekday", "hour")  # features of a data.datetime column (weekday: Monday=0)
SHOWN = 5  # values a message lists before "… and N more"


def listing(values: Sequence[Any], shown: int = SHOWN) -> str:
    """`['a', 'b', … and 7 more]`: a few values for a one-line message (each cut as `short` cuts it)."""
    head = [short(v) for v in list(values)[:shown]]
    more = len(values) - len(head)
    return "[" + ", ".join(head) + (f", … and {more} more" if more > 0 else "") + "]"


def short(value: Any) -> str:
    """repr(value), cut to 30 characters: a user's value inside a one-line message."""
    text = repr(value)
    return text if len(text) <= 30 else text[:29] + "…"


def is_missing(values: pd.Series) -> np.ndarray:
    """NaN, None, NaT and pd.NA, as one boolean mask."""
    return values.isna().to_numpy()


def numbers(values: pd.Series) -> pd.Series:
    """float64, NaN for a gap or for anything that is not a number (validate.numeric names those first)."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    if values.dtype == object:
        values = values.map(lambda v: float(v) if isinstance(v, (bool, np.bool_)) else v)
    return pd.to_numeric(values, errors="coerce").astype("float64")


def _canonical(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return str(int(v)) if float(v).is_integer() else repr(float(v))
    return str(v)


def categories(values: pd.Series) -> np.ndarray:
    """Canonical category strings (object array); MISSING for a gap. One conversion per distinct value."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.asarray([_canonical(v) for v in uniques] + [MISSING], dtype=object)
    return table[codes]  # code -1 (a gap) picks the last entry


def raw_categories(values: pd.Series) -> pd.Series:
    """Canonical strings with None for a gap: a categorical column as the served model receives it."""
    out = categories(values)
    out[out == MISSING] = None
    return pd.Series(out, index=values.index, dtype=object)


def timestamps(values: pd.Series) -> pd.Series:
    """datetime64 (naive; a time zone is converted to UTC first); NaT for a gap or unreadable text."""
    if pd.api.types.is_datetime64_any_dtype(values):
        out = values
    else:
        text = values.astype(object).where(values.notna(), None)
        out = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out


def unreadable_dates(values: pd.Series) -> np.ndarray:
    """Positions holding a value that is there but is not a date/time."""
    return timestamps(values).isna().to_numpy() & ~is_missing(values)


def date_part(stamps: pd.Series, part: str) -> np.ndarray:
    """One DATE_PARTS feature of parsed timestamps as float64 (NaN for a gap)."""
    field = stamps.dt.weekday if part == "weekday" else getattr(stamps.dt, part)
    return field.to_numpy(dtype=np.float64, na_value=np.nan)


def raw_dates(values: pd.Series) -> pd.Series:
    """ISO 8601 text with None for a gap: a date column as the served model receives it."""
    stamps = timestamps(values)
    text = stamps.dt.strftime("%Y-%m-%dT%H:%M:%S").astype(object)
    return text.where(stamps.notna(), None)
