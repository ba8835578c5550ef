"""`dlforge monitor` on an image classifier (digits) and a forecaster (sunspots): real shifts, real champions.

Each use case is trained briefly into one SQLite store; a batch is its test split's raw inputs (NPY images,
CSV windows) with labels from `--labels`. The test split is ok; brighter images or a raised series level
are drift on that summary column; labels that no longer match are degraded.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import CONF, register_use_cases
from dlforge.cli import main
from dlforge.data import prepared as prepared_data
from dlforge.monitor.verdict import EXIT_CODES

pytestmark = pytest.mark.e2e
QUICK = {
    "digits": ["trainer.max_epochs=3"],
    "sunspots": ["trainer.max_epochs=2"],
}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("monitor_families")
    uri = register_use_cases(root, QUICK)
    return root, uri


def monitor(capsys, store, use_case: str, batch: Path, labels: Path | None) -> tuple[int, str, dict]:
    root, uri = store
    capsys.readouterr()
    extra = ["--labels", str(labels)] if labels is not None else []
    code = main(["--tracking-uri", uri, "monitor", use_case, str(batch), *extra, "--config-dir", str(CONF)])
    out, err = capsys.readouterr()
    summary = root / "reports" / use_case / "monitor" / batch.stem / "summary.json"
    return code, out + err, json.loads(summary.read_text()) if summary.exists() else {}


def drifted(store, use_case: str, batch: str) -> set[str]:
    rows = json.loads((store[0] / "reports" / use_case / "monitor" / batch / "drift.json").read_text())
    return {r["column"] for r in rows if r["drift"] and r["side"] == "input"}


def test_digits_images(capsys, store):
    root = store[0]
    data = prepared_data.load(root / "data" / "digits")
    images, labels = data.raw("test"), data.targets("test")
    np.save(root / "images.npy", images)
    pd.DataFrame({"label": labels}).to_csv(root / "labels.csv", index=False)
    code, out, summary = monitor(capsys, store, "digits", root / "images.npy", root / "labels.csv")
    assert code == 0 and summary["verdict"] == "ok", out

    np.save(root / "brighter.npy", np.clip(images + 4.0, 0, 16))
    code, out, summary = monitor(capsys, store, "digits", root / "brighter.npy", None)
    assert code == EXIT_CODES["drift"], out
    assert "pixel_mean" in drifted(store, "digits", "brighter")

    pd.DataFrame({"label": (labels + 1) % 10}).to_csv(root / "shifted_labels.csv", index=False)
    code, out, summary = monitor(capsys, store, "digits", root / "images.npy", root / "shifted_labels.csv")
    assert code == EXIT_CODES["degraded"] and summary["labels"]["metric"] == "accuracy", out


def test_sunspots_series(capsys, store):
    root = store[0]
    data = prepared_data.load(root / "data" / "sunspots")
    windows, targets = data.raw("test"), data.targets("test")
    windows.to_csv(root / "windows.csv", index=False)
    pd.DataFrame({"value": targets}).to_csv(root / "next.csv", index=False)
    code, out, summary = monitor(capsys, store, "sunspots", root / "windows.csv", root / "next.csv")
    assert code == 0 and summary["verdict"] == "ok", out

    (windows + 150.0).to_csv(root / "raised.csv", index=False)
    code, out, summary = monitor(capsys, store, "sunspots", root / "raised.csv", None)
    assert code == EXIT_CODES["drift"], out
    assert "level" in drifted(store, "sunspots", "raised")

    rng = np.random.default_rng(0)
    pd.DataFrame({"value": rng.permutation(targets)}).to_csv(root / "shuffled.csv", index=False)
    code, out, summary = monitor(capsys, store, "sunspots", root / "windows.csv", root / "shuffled.csv")
    assert code == EXIT_CODES["degraded"] and summary["labels"]["metric"] == "mae", out
