"""Checks of raw rows: every failure names the column and the first offending row.

Where a row is named: a table read from the user's file (dlforge.data.sources.table.table marks it with
`df.attrs["path"]`) is named as an editor shows it, `<file> line <n>` (the header is line 1, so the
first data row is line 2; blank lines and quoted line breaks are counted as the file has them);
a Parquet file as `<file> row <n>` counting from 1; anything else (an in-memory frame, a served
request) as `row <i>`, counting from 0. Messages list at most a few values (columns.listing).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from dlforge.data.columns import listing, numbers, short, unreadable_dates
from dlforge.errors import UserError

PATH = "path"  # df.attrs key holding the file a table was read from
WHERE = "where"  # df.attrs key naming who reads the rows (a data spec at prepare; a request is "input")


def file_line(path: str, row: int) -> int:
    """The 1-based line where data row `row` (0-based, as pandas counts them) starts in CSV `path`."""
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
        reader = csv.reader(f)
        start, record = 1, -1  # the header is record -1
        for fields in reader:
            if fields:  # pandas skips blank lines
                if record == row:
                    return start
                record += 1
            start = reader.line_num + 1
    return start


def at(df: pd.DataFrame, row: int, column: str | None = None) -> str:
    """Where positional row `row` (and `column`) of `df` is, in the words the user knows."""
    path = df.attrs.get(PATH)
    label = df.index[row] if len(df.index) > row else row
    col = f"column '{column}'" if column is not None else ""
    if path and str(path).endswith(".parquet"):
        return f"{path} row {int(label) + 1}" + (f", {col}" if col else "")
    if path:
        return f"{path} line {file_line(path, int(label))}" + (f", {col}" if col else "")
    return f"{col} row {label}".strip()


def require_columns(df: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        src = f" of {df.attrs[PATH]}" if df.attrs.get(PATH) else ""
        raise UserError(f"{where}: missing column '{missing[0]}'{src} (has: {_names(df.columns)})")


def _names(columns: Sequence[Any], shown: int = 12) -> str:
    """`a, b, c … and 40 more`: a table's column names for a one-line message."""
    names = [str(c) for c in columns]
    more = f" … and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def no_missing(df: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    for c in columns:
        bad = df[c].isna().to_numpy()
        if bad.any():
            raise UserError(f"{where}: {at(df, int(np.argmax(bad)), c)}: missing value (NaN)")


def numeric(
    df: pd.DataFrame, columns: Sequence[str], where: str, low: float | None = None, high: float | None = None
) -> None:
    """Numbers only: no text, no inf, and inside [low, high] when given."""
    for c in columns:
        values = numbers(df[c])
        bad = values.isna() & df[c].notna()
        if bad.any():
            row = int(np.argmax(bad.to_numpy()))
            got = df[c].iloc[row]
            hint = (
                "; a date/time: declare the column in data.datetime"
                if not unreadable_dates(df[c].iloc[[row]]).any()
                else ""
            )
            raise UserError(f"{where}: {at(df, row, c)}: expected a number, got {short(got)}{hint}")
        inf = np.isinf(values.to_numpy(np.float64, na_value=np.nan))
        if inf.any():
            row = int(np.argmax(inf))
            raise UserError(f"{where}: {at(df, row, c)}: expected a finite number, got {values.iloc[row]}")
        for out in (values < low if low is not None else None, values > high if high is not None else None):
            if out is not None and out.any():
                row = int(np.argmax(out.to_numpy()))
                raise UserError(f"{where}: {at(df, row, c)}: value {values.iloc[row]} outside [{low}, {high}]")


def allowed_values(df: pd.DataFrame, column: str, allowed: Sequence, where: str) -> None:
    ok = df[column].isin(list(allowed)).to_numpy()
    if not ok.all():
        row = int(np.argmin(ok))
        raise UserError(
            f"{where}: {at(df, row, column)}: value {short(df[column].iloc[row])} is not one of {listing(list(allowed))}"
        )


def dates(df: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    """Dates/times in ISO 8601 form (or timestamps already); a gap is left to data.missing."""
    for c in columns:
        bad = unreadable_dates(df[c])
        if bad.any():
            row = int(np.argmax(bad))
            raise UserError(
                f"{where}: {at(df, row, c)}: expected a date/time like 2024-03-01 or 2024-03-01T13:45, "
                f"got {short(df[c].iloc[row])}"
            )


def enough_rows(df: pd.DataFrame, where: str, minimum: int) -> None:
    """At least `minimum` data rows (a header-only file has none)."""
    if len(df) < minimum:
        src = f"{df.attrs[PATH]}: " if df.attrs.get(PATH) else ""
        raise UserError(f"{where}: {src}{len(df)} data rows; expected at least {minimum}")


def every_class_present(df: pd.DataFrame, column: str, classes: Sequence[Any], where: str, per_class: int) -> None:
    """Each class needs `per_class` rows so the stratified split gives train, val and test some of it."""
    counts = df[column].value_counts()
    for c in classes:
        n = int(counts.get(c, 0))
        if n < per_class:
            src = f" of {df.attrs[PATH]}" if df.attrs.get(PATH) else ""
            raise UserError(
                f"{where}: column '{column}'{src}: class {c!r} has {n} rows; expected at least {per_class} "
                f"(a row each for train, val and test; every class in data.classes must occur)"
            )
