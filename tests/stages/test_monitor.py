"""`dlforge monitor` on a tabular champion: real stages, a real MLflow store, the real champion pyfunc.

Batches are the tiny use case's test split (ok), then the same rows with one feature shifted, a new
category, missing values (drift on that column) or labels flipped (degraded). The session's tiny
registry (conftest.build_registry) is reused; its store is copied, as the monitor writes runs and tags.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from conftest import CONF
from dlforge import keys as K
from dlforge.cli import main
from dlforge.data import prepared as prepared_data
from dlforge.monitor.verdict import EXIT_CODES

pytestmark = pytest.mark.slow  # a trained champion and a dozen monitor runs: not in make test-fast


@pytest.fixture(scope="module")
def store(tmp_path_factory, tiny_registry) -> tuple[Path, str, Path]:
    """(folder for batches, tracking URI of a copy of the tiny registry, the tiny use case's reports)."""
    root, _ = tiny_registry
    here = tmp_path_factory.mktemp("monitor")
    shutil.copyfile(root / "mlflow.db", here / "mlflow.db")
    return here, f"sqlite:///{here}/mlflow.db", root / "reports" / "tiny"


@pytest.fixture(scope="module")
def test_rows(tiny_registry) -> pd.DataFrame:
    """The test split's raw rows with their labels (column y), as a user's labelled batch would hold them."""
    data = prepared_data.load(tiny_registry[0] / "data" / "tiny")
    classes = np.asarray(data.preprocessor().classes, dtype=object)
    return data.raw("test").assign(y=classes[data.targets("test")])


def monitor(capsys, uri: str, batch: Path, *extra: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--tracking-uri", uri, "monitor", "tiny", str(batch), *extra, "--config-dir", str(CONF)])
    out, err = capsys.readouterr()
    return code, out, err


def write(folder: Path, name: str, df: pd.DataFrame) -> Path:
    path = folder / f"{name}.csv"
    df.to_csv(path, index=False)
    return path


def test_a_batch_from_the_test_split_is_ok_and_leaves_a_report_and_a_run(capsys, store, test_rows):
    folder, uri, reports = store
    code, out, err = monitor(capsys, uri, write(folder, "week1", test_rows))
    assert code == 0, out + err
    assert "tiny v2 on week1: ok" in out
    report = reports / "monitor" / "week1"
    summary = json.loads((report / "summary.json").read_text())
    assert summary["verdict"] == "ok" and summary["version"] == 2 and summary["rows"] == len(test_rows)
    assert summary["labels"]["degraded"] is False
    assert summary["labels"]["ci_low"] <= summary["labels"]["batch"] <= summary["labels"]["ci_high"]
    assert {"report.md", "psi.png", "buckets.png", "drift.json", "predictions.json"} <= {
        p.name for p in report.iterdir()
    }
    rows = json.loads((report / "drift.json").read_text())
    assert {r["column"] for r in rows if r["side"] == "input"} == {"x1", "x2", "kind"}
    assert all(r["psi"] == 0 for r in rows if r["side"] == "prediction")  # the same rows the test split scored

    client = MlflowClient(uri)
    run = client.get_run(client.get_model_version("tiny", "2").tags[K.MONITOR_LAST_RUN])
    assert run.data.tags[K.MONITOR_VERSION] == "2" and run.data.tags[K.MONITOR_VERDICT] == "ok"
    assert run.info.experiment_id == client.get_experiment_by_name("tiny").experiment_id
    assert {"input.x1.psi", "input.kind.unseen", "prediction.predicted.psi", "batch_pr_auc"} <= set(run.data.metrics)
    (dataset,) = run.inputs.dataset_inputs
    assert dataset.dataset.name == "week1" and dataset.tags[0].value == K.MONITOR_CONTEXT
    assert "monitor/report.md" in {a.path for a in client.list_artifacts(run.info.run_id, "monitor")}


@pytest.mark.parametrize(
    ("name", "change", "column"),
    [
        ("shifted", lambda df: df.assign(x1=df.x1 + 3.0), "x1"),
        ("new_category", lambda df: df.assign(kind=np.where(np.arange(len(df)) % 3 == 0, "d", df.kind)), "kind"),
        ("missing", lambda df: df.assign(x2=np.where(np.arange(len(df)) % 4 == 0, np.nan, df.x2)), "x2"),
    ],
)
def test_one_shifted_feature_is_drift_on_that_feature(capsys, store, test_rows, name, change, column):
    folder, uri, reports = store
    code, out, err = monitor(capsys, uri, write(folder, name, change(test_rows.drop(columns="y"))))
    assert code == EXIT_CODES["drift"], out + err
    drifted = [r["column"] for r in json.loads((reports / "monitor" / name / "drift.json").read_text()) if r["drift"]]
    assert column in drifted and not {"x1", "x2", "kind"} - {column} & set(drifted), drifted
    assert f"drift ({column}:" in out


def test_flipped_labels_are_degraded(capsys, store, test_rows):
    folder, uri, reports = store
    flipped = test_rows.assign(y=np.where(test_rows.y == "pos", "neg", "pos"))
    code, out, err = monitor(capsys, uri, write(folder, "flipped", flipped))
    assert code == EXIT_CODES["degraded"], out + err
    labels = json.loads((reports / "monitor" / "flipped" / "summary.json").read_text())["labels"]
    assert labels["degraded"] and labels["ci_high"] < labels["champion_test"]


def test_a_missing_or_changed_reference_is_refused_in_one_line(capsys, store, test_rows, tiny_registry):
    folder, uri, _ = store
    batch = write(folder, "week1", test_rows)
    prepared = tiny_registry[0] / "data" / "tiny"
    meta = prepared / "meta.json"
    saved = meta.read_bytes()
    try:
        meta.write_bytes(saved + b"\n")
        code, _, err = monitor(capsys, uri, batch)
        assert code == 2 and "training reference of tiny v2 differs" in err and len(err.strip().splitlines()) == 1
        meta.unlink()
        code, _, err = monitor(capsys, uri, batch)
        assert code == 2 and "training reference of tiny v2 missing" in err
    finally:
        meta.write_bytes(saved)


def test_bad_thresholds_and_unknown_models_are_one_line(capsys, store, test_rows):
    folder, uri, _ = store
    batch = write(folder, "week1", test_rows)
    code, _, err = monitor(capsys, uri, batch, "monitor.psi.drift=high")
    assert code == 2 and "monitor.psi.drift" in err
    capsys.readouterr()
    code = main(["--tracking-uri", uri, "monitor", "nope", str(batch), "--config-dir", str(CONF)])
    assert code == 2 and "model 'nope'" in capsys.readouterr().err
