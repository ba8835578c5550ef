"""The prepared-data folder, the one contract between prepare and the later stages.

{split}_x.npy, {split}_y.npy          x (model-ready input, float32 for tabular and image data),
{split}_t.npy                         y (model-ready target), t (target in natural units, what metrics
                                      compare against); plain .npy, so a stage can memory-map them
                                      (`arrays(split, mmap=True)`) instead of reading them whole
{split}_raw.parquet | {split}_raw.npy the raw inputs, as a served model receives them (Parquet: one
                                      row group per prepare chunk, read back in batches by `raw_batches`)
preprocess.json                       the fitted preprocessor (serving applies it to raw inputs)
extras.npz                            anything else a use case fits at prepare time (optional)
meta.json                             use case, sizes, the network's and module's shape arguments, and
                                      `report`: gaps imputed, rare and unseen categories (dlforge.data.report)

Prepare writes every split a chunk of rows at a time (CHUNK_ROWS, fewer for wide rows) (raw rows → preprocessor → rows of the .npy
files and a Parquet row group), so its memory is the raw table plus one chunk, whatever the size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dlforge.data import report
from dlforge.data.preprocess import Preprocessor, from_state
from dlforge.io import read_json, write_json

SPLITS = ("train", "val", "test")
ARRAYS = ("x", "y", "t")
CHUNK_ROWS = 65_536  # rows transformed and written at a time by prepare (unless its spec says fewer); rows per raw batch read back
TAKE_ROWS = 4096  # rows gathered through one short-lived memory map (Prepared.take)
CHUNK_BYTES = 256 * 2**20  # a spec of wide rows (images) takes fewer rows per chunk: about this many bytes of float64

Examples = Callable[[np.ndarray], tuple[Any, np.ndarray]]  # row positions → (raw inputs, natural-unit targets)
Gaps = Callable[[np.ndarray], dict[str, int]]  # row positions → missing values imputed per column


@dataclass
class Prepared:
    path: Path
    meta: dict[str, Any]
    preprocess: dict[str, Any]

    def file(self, split: str, array: str) -> Path:
        return self.path / f"{split}_{array}.npy"

    def arrays(self, split: str, mmap: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Model-ready (x, y) for training; `mmap=True` maps them read-only instead of reading them."""
        mode = "r" if mmap else None
        return tuple(np.load(self.file(split, a), mmap_mode=mode, allow_pickle=False) for a in ("x", "y"))

    def take(self, split: str, array: str, rows: np.ndarray) -> np.ndarray:
        """Rows `rows` (positions) of a split's array, read TAKE_ROWS at a time, each through a map closed
        right after: the file's pages (and the kernel's fault-around neighbours, up to 64 KiB a row) never
        stay mapped, and counted in this process's resident memory, together."""
        path = self.file(split, array)
        parts = [np.load(path, mmap_mode="r")[rows[i : i + TAKE_ROWS]] for i in range(0, len(rows), TAKE_ROWS)]
        return np.concatenate(parts) if parts else np.load(path, mmap_mode="r")[rows]

    def chunks(self, split: str, array: str) -> Iterator[np.ndarray]:
        """A split's array as consecutive in-memory chunks of CHUNK_ROWS rows (each read as `take` reads)."""
        n = len(np.load(self.file(split, array), mmap_mode="r"))
        for start in range(0, n, CHUNK_ROWS):
            yield self.take(split, array, np.arange(start, min(start + CHUNK_ROWS, n)))

    def nbytes(self, *splits: str) -> int:
        """Bytes of the model-ready (x, y) arrays of `splits`, from the files' headers (nothing read)."""
        return sum(a.nbytes for s in splits for a in self.arrays(s, mmap=True))

    def targets(self, split: str) -> np.ndarray:
        """Targets in natural units (labels, ratings, values): what metrics compare predictions with."""
        return np.load(self.file(split, "t"), allow_pickle=False)

    def raw(self, split: str) -> Any:
        """Raw inputs of a split (a DataFrame or an array), exactly as a served model receives them."""
        table = self.path / f"{split}_raw.parquet"
        return pd.read_parquet(table) if table.exists() else np.load(self.path / f"{split}_raw.npy", allow_pickle=False)

    def raw_batches(self, split: str, rows: int = CHUNK_ROWS) -> Iterator[Any]:
        """The raw inputs of a split in consecutive batches of at most `rows` (same rows, same order as `raw`)."""
        table = self.path / f"{split}_raw.parquet"
        if table.exists():
            import pyarrow.parquet as pq

            for batch in pq.ParquetFile(table).iter_batches(batch_size=rows):
                yield batch.to_pandas()
            return
        raw = np.load(self.path / f"{split}_raw.npy", mmap_mode="r", allow_pickle=False)
        for start in range(0, len(raw), rows):
            yield np.array(raw[start : start + rows])

    def extras(self) -> dict[str, np.ndarray]:
        path = self.path / "extras.npz"
        if not path.exists():
            return {}
        with np.load(path) as f:
            return dict(f)

    def preprocessor(self) -> Preprocessor:
        return from_state(self.preprocess)


def write(
    out: Path,
    examples: Examples,
    idx: dict[str, np.ndarray],
    pre: Preprocessor,
    meta: dict[str, Any],
    extras: dict[str, np.ndarray],
    chunk_rows: int = CHUNK_ROWS,
    gaps: Gaps | None = None,
) -> dict[str, Any]:
    """`examples(rows)` gives the raw inputs and natural-unit targets of row positions `rows`; each split's
    rows (`idx`) are made model-ready by the preprocessor and written chunk by chunk. `gaps(rows)` counts
    the missing values imputed; with the preprocessor's unseen categories they make meta's `report`,
    which is returned.

    The arrays are made by the preprocessor rebuilt from its stored JSON, exactly as serving rebuilds
    it (JSON objects are written with sorted keys, so any order it holds must survive the round trip).
    """
    fitted = pre.fit_report
    write_json(out / "preprocess.json", pre.to_state())
    pre = from_state(read_json(out / "preprocess.json"))
    imputed, unseen = {}, {}
    for split, rows in idx.items():
        unseen[split] = _write_split(out, split, rows, examples, pre, chunk_rows)
        imputed[split] = _add({}, [gaps(rows)] if gaps else [])
    if extras:
        np.savez(out / "extras.npz", **extras)
    found = report.build(fitted, imputed, unseen)
    write_json(out / "meta.json", {**meta, "report": found} if found else meta)
    return found


def _add(total: dict[str, int], counts: list[dict[str, int]]) -> dict[str, int]:
    for c in counts:
        for k, n in c.items():
            total[k] = total.get(k, 0) + n
    return total


def _write_split(
    out: Path, split: str, rows: np.ndarray, examples: Examples, pre: Preprocessor, chunk: int
) -> dict[str, int]:
    """Write one split chunk by chunk; return the rows per column whose category was never seen in train."""
    table = None  # the raw rows' Parquet writer, opened on the first chunk that is a DataFrame
    unseen: dict[str, int] = {}
    for start in range(0, len(rows), chunk):
        raw, t = examples(rows[start : start + chunk])
        parts = {"x": pre.transform(raw), "y": pre.transform_target(t), "t": np.asarray(t)}
        _add(unseen, [pre.counts.get("unseen", {})])
        if not isinstance(raw, pd.DataFrame):
            parts["raw"] = np.asarray(raw)
        for name, a in parts.items():
            _put(out / f"{split}_{name}.npy", a, start, len(rows))
        if isinstance(raw, pd.DataFrame):
            table = _append(table, out / f"{split}_raw.parquet", raw)
    if table is not None:
        table.close()
    return unseen


def _put(path: Path, a: np.ndarray, start: int, n: int) -> None:
    """Rows [start, start+len(a)) of the .npy at `path`, created for `n` rows on the first chunk; the
    mapping is closed after each chunk, so written pages do not stay in this process's memory."""
    if start == 0:
        mm = np.lib.format.open_memmap(path, mode="w+", dtype=a.dtype, shape=(n, *a.shape[1:]))
    else:
        mm = np.load(path, mmap_mode="r+")
    mm[start : start + len(a)] = a
    mm.flush()
    del mm


def _append(writer: Any, path: Path, raw: pd.DataFrame) -> Any:
    """Write `raw` as the next row group of the Parquet file at `path` (opened on the first call)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(raw.reset_index(drop=True), preserve_index=False)
    if writer is None:
        writer = pq.ParquetWriter(path, table.schema)
    writer.write_table(table.cast(writer.schema))
    return writer


def load(path: str | Path) -> Prepared:
    path = Path(path)
    if not (path / "meta.json").exists():
        from dlforge.errors import UserError

        raise UserError(f"prepared data not found in '{path}': run the prepare stage first")
    return Prepared(path, read_json(path / "meta.json"), read_json(path / "preprocess.json"))
