"""The prepared-data folder, the one contract between prepare and the later stages.

train.npz / val.npz / test.npz        x (model-ready input), y (model-ready target),
                                      t (target in natural units, what metrics compare against)
{split}_raw.parquet | {split}_raw.npy the raw inputs, as a served model receives them
preprocess.json                       the fitted preprocessor (serving applies it to raw inputs)
extras.npz                            anything else a use case fits at prepare time (optional)
meta.json                             use case, sizes, the network's and module's shape arguments
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dlforge.data.preprocess import Preprocessor, from_state
from dlforge.io import read_json, write_json

SPLITS = ("train", "val", "test")


@dataclass
class Prepared:
    path: Path
    meta: dict[str, Any]
    preprocess: dict[str, Any]

    def arrays(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Model-ready (x, y) for training."""
        with np.load(self.path / f"{split}.npz") as f:
            return f["x"], f["y"]

    def targets(self, split: str) -> np.ndarray:
        """Targets in natural units (labels, ratings, values): what metrics compare predictions with."""
        with np.load(self.path / f"{split}.npz") as f:
            return f["t"]

    def raw(self, split: str) -> Any:
        """Raw inputs of a split (a DataFrame or an array), exactly as a served model receives them."""
        table = self.path / f"{split}_raw.parquet"
        return pd.read_parquet(table) if table.exists() else np.load(self.path / f"{split}_raw.npy", allow_pickle=False)

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
    splits: dict[str, tuple[Any, np.ndarray]],
    pre: Preprocessor,
    meta: dict[str, Any],
    extras: dict[str, np.ndarray],
) -> None:
    """`splits` maps each split to (raw inputs, natural-unit targets); the preprocessor makes them model-ready.

    The arrays are made by the preprocessor rebuilt from its stored JSON, exactly as serving rebuilds
    it (JSON objects are written with sorted keys, so any order it holds must survive the round trip).
    """
    write_json(out / "preprocess.json", pre.to_state())
    pre = from_state(read_json(out / "preprocess.json"))
    for split, (raw, t) in splits.items():
        np.savez(out / f"{split}.npz", x=pre.transform(raw), y=pre.transform_target(t), t=t)
        if isinstance(raw, pd.DataFrame):
            raw.reset_index(drop=True).to_parquet(out / f"{split}_raw.parquet")
        else:
            np.save(out / f"{split}_raw.npy", np.asarray(raw), allow_pickle=False)
    if extras:
        np.savez(out / "extras.npz", **extras)
    write_json(out / "meta.json", meta)


def load(path: str | Path) -> Prepared:
    path = Path(path)
    if not (path / "meta.json").exists():
        from dlforge.errors import UserError

        raise UserError(f"prepared data not found in '{path}': run the prepare stage first")
    return Prepared(path, read_json(path / "meta.json"), read_json(path / "preprocess.json"))
