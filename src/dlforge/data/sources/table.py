"""The user's own table: a CSV or Parquet file, read with every refusal naming the file and line."""

from __future__ import annotations

import csv
import io
import os

import pandas as pd

from dlforge.errors import UserError


def table(path: str) -> pd.DataFrame:
    """The user's own CSV (UTF-8, comma-separated, a header line) or Parquet file.

    The frame remembers its file (`attrs["path"]`) so validation names rows as `<file> line <n>`.
    Every way of not being such a table ends in a UserError naming the file (and line where known).
    """
    from dlforge.data.validate import PATH

    if not os.path.isfile(path):
        raise UserError(f"data.source.path: file '{path}' does not exist")
    if path.endswith(".parquet"):
        try:
            df = pd.read_parquet(path)
        except Exception as e:
            raise UserError(f"data.source.path: {path}: not a readable Parquet file ({_short(e)})") from None
        import pyarrow as pa

        pa.default_memory_pool().release_unused()  # Arrow's decoding buffers: 1.5 GB kept after a 10M-row read
    else:
        header = _check_text(path)
        try:
            df = pd.read_csv(path)
        except pd.errors.ParserError as e:
            raise UserError(f"data.source.path: {path}: not a comma-separated table ({_short(e)})") from None
        if len(df.columns) == 1 and len(header) == 1 and any(d in header[0] for d in ";\t|"):
            raise UserError(
                f"data.source.path: {path} line 1: one column {header[0][:60]!r}; expected comma-separated columns"
            )
    df.attrs[PATH] = path
    return df


def _check_text(path: str) -> list[str]:
    """The header fields of a CSV; UserError for an empty, binary or non-UTF-8 file, or repeated column names."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.strip():
        raise UserError(f"data.source.path: {path}: the file is empty; expected a header line and data rows")
    if b"\x00" in data[:8192]:
        raise UserError(f"data.source.path: {path}: a binary file; expected a UTF-8 CSV text file (or .parquet)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise UserError(
            f"data.source.path: {path} line {line}: byte 0x{data[e.start]:02x} is not UTF-8; "
            "expected UTF-8 text (re-save the file as UTF-8)"
        ) from None
    header = next(csv.reader(io.StringIO(text)), [])
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise UserError(f"data.source.path: {path} line 1: column '{name}' appears twice; expected unique names")
        seen.add(name)
    return header


def _short(e: BaseException) -> str:
    return " ".join(str(e).split())[:200]
