"""Serving over real HTTP: `mlflow models serve` on the champions of both built-in use cases, and `dlforge predict`.

The use cases are trained briefly (a few epochs) into a SQLite store in a temp folder; each server is
a real subprocess on 127.0.0.1, polled on /ping with a bounded timeout and always killed.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from sklearn.datasets import load_digits

from conftest import CONF, ROOT, empty_mlflow_db
from pipelines import evaluate, prepare, register, train
from services import BIN, post, serve

pytestmark = pytest.mark.e2e
CREDIT = pd.DataFrame({"student": ["No", "Yes", "No"], "balance": [300, 2600, 1200], "income": [45000, 15000, 30000]})


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    """credit_default and digits, each prepared, trained for a few epochs, evaluated and registered."""
    root = tmp_path_factory.mktemp("serving")
    empty_mlflow_db(root / "mlflow.db")
    uri = f"sqlite:///{root}/mlflow.db"
    for use_case in ("credit_default", "digits"):
        overrides = [
            f"experiment={use_case}",
            f"paths.prepared={root}/data/${{name}}",
            f"paths.models={root}/models/${{name}}",
            f"paths.reports={root}/reports/${{name}}",
            f"tracking.uri={uri}",
            "trainer.max_epochs=5",
            "callbacks.progress_bar=null",
        ]
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            cfg = compose("config", overrides=overrides)
        for stage in (prepare, train, evaluate, register):
            stage.run(cfg)
    return uri


@pytest.fixture(scope="module")
def credit(store, tmp_path_factory) -> Iterator[str]:
    yield from serve(store, "credit_default", tmp_path_factory.mktemp("logs") / "credit.log")


@pytest.fixture(scope="module")
def digits(store, tmp_path_factory) -> Iterator[str]:
    yield from serve(store, "digits", tmp_path_factory.mktemp("logs") / "digits.log")


def test_credit_default_answers_raw_columns_split_and_records(credit):
    status, split = post(credit, {"dataframe_split": json.loads(CREDIT.to_json(orient="split", index=False))})
    assert status == 200, split
    status, records = post(credit, {"dataframe_records": CREDIT.to_dict(orient="records")})
    assert status == 200 and records == split
    rows = split["predictions"]
    assert all(abs(r["proba_No"] + r["proba_Yes"] - 1) < 1e-5 and r["label"] in ("No", "Yes") for r in rows)
    assert rows[1]["proba_Yes"] > rows[2]["proba_Yes"] > rows[0]["proba_Yes"]  # risk grows with balance
    assert [r["label"] for r in rows] == ["Yes" if r["proba_Yes"] > 0.5 else "No" for r in rows]


def test_digits_answers_raw_integer_and_float_pixels(digits):
    d = load_digits()
    status, ints = post(digits, {"inputs": d.images[:100].astype(int).tolist()})  # raw 8x8, ints 0-16
    assert status == 200, ints
    labels = np.array([r["label"] for r in ints["predictions"]])
    assert (labels == d.target[:100]).mean() > 0.8
    status, floats = post(digits, {"inputs": d.images[:100].tolist()})
    assert status == 200 and floats == ints


@pytest.mark.parametrize(
    "which, body, message",
    [
        (
            "credit",
            {"dataframe_records": [{"student": "No", "balance": 300}]},
            "input: missing column 'income' (has: balance, student)",
        ),
        (
            "credit",
            {"dataframe_records": [{"student": "Maybe", "balance": 300, "income": 1}]},
            "column 'student' row 0: unknown category 'Maybe'",
        ),
        (
            "credit",
            {"dataframe_records": [{"student": "No", "balance": None, "income": 1}]},
            "column 'balance' row 0: missing value (NaN)",
        ),
        (
            "digits",
            {"inputs": [[1, 2, 3]]},
            "Shape of input (1, 3) does not match expected shape (-1, -1, -1)",
        ),  # MLflow's schema check
        ("digits", {"inputs": [[[40] * 8] * 8]}, "image 0: pixel values must lie in [0, 16.0]"),
    ],
)
def test_bad_requests_get_400_with_the_reason(request, which, body, message):
    status, answer = post(request.getfixturevalue(which), body)
    assert status == 400 and message in answer["message"], answer


def test_predict_command_matches_the_server_and_writes_atomically(store, credit, digits, tmp_path, capsys):
    """The first prediction through the installed console script; the others through `dlforge.cli.main(argv)`
    in-process (the function the script runs), each still loading the champion from the store."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": store}

    def dlforge(*a):
        return subprocess.run(
            [str(BIN / "dlforge"), *map(str, a)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )

    def dlforge_here(*a):
        from dlforge.cli import main

        capsys.readouterr()
        code = main(["--tracking-uri", store, *map(str, a)])
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(a, code, out, err)

    CREDIT.to_csv(tmp_path / "credit.csv", index=False)
    r = dlforge("predict", "credit_default", tmp_path / "credit.csv", tmp_path / "out/credit.parquet")
    assert r.returncode == 0, r.stderr
    served = pd.DataFrame(post(credit, {"dataframe_records": CREDIT.to_dict(orient="records")})[1]["predictions"])
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "out/credit.parquet"), served, check_exact=False, rtol=1e-6
    )

    np.save(tmp_path / "digits.npy", load_digits().images[:20].astype(np.int64))
    r = dlforge_here("predict", "digits@champion", tmp_path / "digits.npy", tmp_path / "out/digits.csv")
    assert r.returncode == 0, r.stderr
    served = post(digits, {"inputs": load_digits().images[:20].astype(int).tolist()})[1]["predictions"]
    assert pd.read_csv(tmp_path / "out/digits.csv")["label"].tolist() == [p["label"] for p in served]

    bad = CREDIT.assign(student=["No", "Maybe", "No"])
    bad.to_csv(tmp_path / "bad.csv", index=False)
    r = dlforge_here("predict", "credit_default", tmp_path / "bad.csv", tmp_path / "out/bad.csv")
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        f"error: input '{tmp_path / 'bad.csv'}': input: column 'student' row 1: unknown category 'Maybe' (known: ['No', 'Yes'])"
    ]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "credit.parquet",
        "digits.csv",
    ]  # nothing half-written
