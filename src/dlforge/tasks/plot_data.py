"""The numbers behind each task's figures, for DVC's interactive plots.

Every task names the data plots it writes in `DATA_PLOTS`: {file name: DVC plot properties}
(template `simple`, `linear`, `confusion`, `scatter`, `bar_horizontal`; x; y as a list of columns;
titles). evaluate writes the files, one JSON list of rows each, into reports/<use case>/curves/
(a cached DVC output, so `dvc plots diff <rev>` can fetch an old revision's rows), and the top-level
`plots:` block of dvc.yaml declares every file with its properties: tools/dvc_sync.py writes that
block from `DATA_PLOTS` and a test keeps it current. Every row carries every declared column.

`methods.json` is written for every task by evaluate: one row per method (the model and each
baseline) with all its test metrics; dvc.yaml draws it as a bar chart of the use case's gate metric.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

METHODS = "methods.json"
GRID = np.linspace(0.0, 1.0, 101)  # common x grid for ROC and PR curves: one row per grid point, one column per method


def _plain(v: Any) -> Any:
    if isinstance(v, (np.integer, int)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if not np.isfinite(v) else round(float(v), 6)
    return v if isinstance(v, str) else str(v)


def write_rows(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """A JSON list of flat rows (numbers rounded to 6 digits, NaN as null): what DVC's templates read.

    Written row by row (the bytes `json.dumps` of the whole list gives), so a confusion plot of millions
    of test rows never holds them all as dicts."""
    with open(path, "w") as f:
        f.write("[")
        for i, r in enumerate(rows):
            f.write((", " if i else "") + json.dumps({k: _plain(v) for k, v in r.items()}))
        f.write("]\n")


def columns(x_name: str, x: np.ndarray, ys: Mapping[str, np.ndarray]) -> list[dict[str, Any]]:
    """Wide rows {x_name: x[i], method: y[i], ...}: one line per method on a shared x axis."""
    return [{x_name: x[i], **{name: y[i] for name, y in ys.items()}} for i in range(len(x))]


def roc_on_grid(fpr: np.ndarray, tpr: np.ndarray) -> np.ndarray:
    """TPR at each false-positive rate of GRID (the ROC is a step function; np.interp joins its corners)."""
    return np.interp(GRID, np.asarray(fpr, dtype=np.float64), np.asarray(tpr, dtype=np.float64))


def pr_on_grid(recall: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """Interpolated precision at each recall of GRID: the best precision reached at that recall or more."""
    order = np.argsort(np.asarray(recall, dtype=np.float64), kind="stable")
    r, p = np.asarray(recall, dtype=np.float64)[order], np.asarray(precision, dtype=np.float64)[order]
    best = np.maximum.accumulate(p[::-1])[::-1]  # max precision over recall >= r
    idx = np.searchsorted(r, GRID, side="left").clip(0, len(r) - 1)
    return best[idx]


def methods_rows(metrics: Mapping[str, Mapping[str, float]]) -> list[dict[str, Any]]:
    """One row per method with its test metrics (evaluate's metrics.json, reshaped for a bar chart)."""
    return [{"method": name, **values} for name, values in metrics.items()]


def methods_plot(metric: str) -> dict[str, Any]:
    """DVC properties of methods.json: a bar per method of `metric` (the gate metric)."""
    return {"template": "bar_horizontal", "x": metric, "y": "method", "title": f"Test {metric} by method"}
