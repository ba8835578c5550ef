"""Checks of raw rows: every failure names the column and the first offending row."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from dlforge.errors import UserError


def require_columns(df: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise UserError(f"{where}: missing column '{missing[0]}' (has: {', '.join(map(str, df.columns[:12]))})")


def no_missing(df: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    for c in columns:
        bad = df[c].isna().to_numpy()
        if bad.any():
            raise UserError(f"{where}: column '{c}' row {int(np.argmax(bad))}: missing value (NaN)")


def numeric(df: pd.DataFrame, columns: Sequence[str], where: str, low: float | None = None, high: float | None = None) -> None:
    for c in columns:
        values = pd.to_numeric(df[c], errors="coerce")
        bad = values.isna() & df[c].notna()
        if bad.any():
            row = int(np.argmax(bad.to_numpy()))
            raise UserError(f"{where}: column '{c}' row {row}: expected a number, got {df[c].iloc[row]!r}")
        for bound, out in ((low, values < low if low is not None else None), (high, values > high if high is not None else None)):
            if out is not None and out.any():
                row = int(np.argmax(out.to_numpy()))
                raise UserError(f"{where}: column '{c}' row {row}: value {values.iloc[row]} outside [{low}, {high}]")


def allowed_values(df: pd.DataFrame, column: str, allowed: Sequence, where: str) -> None:
    ok = df[column].isin(list(allowed)).to_numpy()
    if not ok.all():
        row = int(np.argmin(ok))
        raise UserError(f"{where}: column '{column}' row {row}: value {df[column].iloc[row]!r} is not one of {list(allowed)}")
