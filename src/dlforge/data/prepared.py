"""The prepared-data folder, the one contract between prepare and the later stages.

    train.npz / val.npz / test.npz   x (float32, model-ready), y (int64)
    test_raw.parquet | test_raw.npy  the raw test inputs, as a served model receives them
    preprocess.json                  the fitted preprocessor (serving applies it to raw inputs)
    meta.json                        use case, sizes, input shape, classes
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dlforge.data.preprocess import from_state
from dlforge.io import read_json, write_json

SPLITS = ("train", "val", "test")


@dataclass
class Prepared:
    path: Path
    meta: dict[str, Any]
    preprocess: dict[str, Any]

    def arrays(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        with np.load(self.path / f"{split}.npz") as f:
            return f["x"], f["y"]

    def raw_test(self) -> Any:
        return from_state(self.preprocess).read_raw(self.path / "test_raw")


def write(out: Path, arrays: dict[str, tuple[np.ndarray, np.ndarray]], raw_test: Any, preprocessor: Any, meta: dict[str, Any]) -> None:
    for split, (x, y) in arrays.items():
        np.savez(out / f"{split}.npz", x=x, y=y)
    preprocessor.write_raw(out / "test_raw", raw_test)
    write_json(out / "preprocess.json", preprocessor.state())
    write_json(out / "meta.json", meta)


def load(path: str | Path) -> Prepared:
    path = Path(path)
    if not (path / "meta.json").exists():
        from dlforge.errors import UserError

        raise UserError(f"prepared data not found in '{path}': run the prepare stage first")
    return Prepared(path, read_json(path / "meta.json"), read_json(path / "preprocess.json"))
