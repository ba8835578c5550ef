"""Serving takes what users naturally send, and refuses the rest with one short reason.

The byo_tabular champion is trained briefly from a copy of the example CSV whose flipper lengths are
written as integers (as many real files are), with the strict settings (data.missing=refuse,
data.unknown_categories=refuse: gaps and unseen categories are refused; test_messy_table serves the defaults). The user's own file, read with `pd.read_csv` (integer
columns, the target column still in it), must score through the champion unchanged, in Python and
over real HTTP (`mlflow models serve`); bad requests get HTTP 400 with a JSON body whose message is
the reason alone (no dump of the input or the schema). Cases are listed in docs/reliability.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from mlflow.exceptions import MlflowException

from conftest import CONF, ROOT, empty_mlflow_db
from services import post, serve

pytestmark = pytest.mark.e2e
CLASSES = ["Adelie", "Chinstrap", "Gentoo"]


@pytest.fixture(scope="module")
def champion(tmp_path_factory) -> dict:
    """byo_tabular prepared, trained (3 epochs), evaluated and registered from an integer-column CSV."""
    from pipelines import evaluate, prepare, register, train

    root = tmp_path_factory.mktemp("serving_inputs")
    empty_mlflow_db(root / "mlflow.db")
    csv = root / "penguins.csv"
    df = pd.read_csv(ROOT / "examples/byo/tabular.csv")
    df.assign(flipper_length_mm=df.flipper_length_mm.round().astype(int)).to_csv(csv, index=False)
    uri = f"sqlite:///{root}/mlflow.db"
    overrides = [
        "experiment=byo_tabular",
        f"data.source.path={csv}",
        f"paths.prepared={root}/data",
        f"paths.models={root}/models",
        f"paths.reports={root}/reports",
        f"tracking.uri={uri}",
        "trainer.max_epochs=3",
        "callbacks.progress_bar=null",
        "data.missing=refuse",
        "data.unknown_categories=refuse",
    ]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    for stage in (prepare, train, evaluate, register):
        stage.run(cfg)
    mlflow.set_tracking_uri(uri)
    return {"uri": uri, "csv": csv, "root": root, "model": mlflow.pyfunc.load_model("models:/byo_tabular@champion")}


@pytest.fixture(scope="module")
def server(champion) -> Iterator[str]:
    yield from serve(champion["uri"], "byo_tabular", champion["root"] / "serve.log")


def test_users_own_csv_scores_unchanged_in_python(champion):
    users = pd.read_csv(champion["csv"])  # integer flipper lengths, the target column still there
    assert users.flipper_length_mm.dtype == np.int64 and "species" in users
    out = champion["model"].predict(users)
    assert len(out) == len(users) and set(out["label"]) <= set(CLASSES)
    floats = champion["model"].predict(users.drop(columns="species").astype({"flipper_length_mm": float}))
    pd.testing.assert_frame_equal(out, floats)
    assert (out["label"] == users["species"]).mean() > 0.5  # it really scores them


def test_integer_json_values_score_over_http(champion, server):
    users = pd.read_csv(champion["csv"]).head(20)
    status, records = post(server, {"dataframe_records": json.loads(users.to_json(orient="records"))})
    assert status == 200, records
    python = champion["model"].predict(users)
    assert [r["label"] for r in records["predictions"]] == python["label"].tolist()
    status, split = post(server, {"dataframe_split": json.loads(users.to_json(orient="split", index=False))})
    assert status == 200 and split == records


ROW = {"island": "Biscoe", "sex": "male", "bill_length_mm": 45.1, "bill_depth_mm": 14.5, "flipper_length_mm": 215}
BAD_REQUESTS = [
    (
        "missing-column",
        {"dataframe_records": [{k: v for k, v in ROW.items() if k != "sex"}]},
        "input: missing column 'sex'",
    ),
    (
        "text-in-number-column",
        {"dataframe_records": [ROW, {**ROW, "bill_depth_mm": "deep"}]},
        "input: column 'bill_depth_mm' row 1: expected a number, got 'deep'",
    ),
    (
        "null-in-number-column",
        {"dataframe_records": [{**ROW, "bill_length_mm": None}]},
        "input: column 'bill_length_mm' row 0: missing value (NaN)",
    ),
    (
        "unknown-category",
        {"dataframe_records": [ROW, ROW, {**ROW, "island": "Atlantis"}]},
        "input: column 'island' row 2: unknown category 'Atlantis' (known: ['Biscoe', 'Dream', 'Torgersen'])",
    ),
    ("list-of-lists-shape", {"inputs": [[1, 2, 3]]}, "input: missing column 'bill_depth_mm'"),
    ("empty-records", {"dataframe_records": []}, "input: missing column 'bill_depth_mm' (has: )"),
    (
        "empty-split",
        {"dataframe_split": {"columns": list(ROW), "data": []}},
        "input: the request has no rows; expected at least one",
    ),
]


@pytest.mark.parametrize("body, reason", [c[1:] for c in BAD_REQUESTS], ids=[c[0] for c in BAD_REQUESTS])
def test_bad_request_gets_400_with_only_the_reason(server, body, reason):
    status, answer = post(server, body)
    assert status == 400 and answer["error_code"] == "INVALID_PARAMETER_VALUE", answer
    assert answer["message"].startswith(reason) and "\n" not in answer["message"], answer
    assert "Failed to" not in answer["message"] and len(answer["message"]) < 200, answer


@pytest.mark.parametrize("body, reason", [c[1:] for c in BAD_REQUESTS], ids=[c[0] for c in BAD_REQUESTS])
def test_bad_request_in_python_is_one_short_reason(champion, body, reason):
    if "inputs" in body:
        frame = pd.DataFrame(body["inputs"])
    elif "dataframe_split" in body:
        frame = pd.DataFrame(body["dataframe_split"]["data"], columns=body["dataframe_split"]["columns"])
    else:
        frame = pd.DataFrame(body["dataframe_records"])
    with pytest.raises(MlflowException) as e:
        champion["model"].predict(frame)
    assert e.value.message.startswith(reason) and len(e.value.message) < 200, e.value.message


@pytest.mark.parametrize(
    "data, status",
    [(b"", 400), (b"{}", 400), (b"not json", 400), (b'{"dataframe_records": {"a": 1}}', 400)],
    ids=["empty-body", "empty-object", "not-json", "records-not-a-list"],
)
def test_empty_and_malformed_bodies_get_400_with_a_json_body(server, data, status):
    import urllib.error
    import urllib.request

    req = urllib.request.Request(f"{server}/invocations", data=data, headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=60)
    body = json.loads(e.value.read())  # MLflow's own protocol message: what the body must look like
    assert e.value.code == status and body["error_code"] == "BAD_REQUEST" and body["message"], body
    assert "Failed to predict" not in body["message"], body  # (MLflow echoes a body that is not JSON at all)


def test_unknown_categories_other_policy_scores_the_batch_and_counts_the_rows(champion):
    """data.unknown_categories=other: an unseen category encodes as <other> (all zeros where train had no rare
    values); the served model logs one line counting it."""
    from dlforge.data.preprocess import from_state
    from dlforge.data.report import request_line
    from dlforge.io import read_json

    state = read_json(Path(champion["root"]) / "data/preprocess.json")
    assert state["unknown"] == "refuse" and state["missing"] == "refuse"  # stored with the model
    pre = from_state({**state, "unknown": "other"})
    batch = pd.DataFrame([ROW] * 9999 + [{**ROW, "island": "Atlantis"}])
    x = pre.transform(batch)
    start = len(pre.numeric)  # one-hot blocks follow the numeric features, in the order of pre.categorical
    island = list(range(start, start + len(pre.categorical["island"])))
    assert pre.categorical["island"] == ["Biscoe", "Dream", "Torgersen"]  # no rare island in train: no <other> level
    assert x.shape[0] == 10_000 and x[-1, island].tolist() == [0.0] * 3 and x[0, island].sum() == 1.0
    assert pre.counts == {"imputed": {}, "unseen": {"island": 1}}
    assert request_line(pre.counts, 10_000) == "input: column 'island' 1 of 10000 rows unseen in train -> <other>"


def test_unknown_categories_policy_is_declared_in_the_data_config(tmp_path, capsys):
    from pipelines import prepare

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            "config",
            overrides=["experiment=byo_tabular", f"paths.prepared={tmp_path}/p", "data.unknown_categories=ignore"],
        )
        prepare.run(cfg)
        assert json.loads((tmp_path / "p/preprocess.json").read_text())["unknown"] == "other"  # ignore: its old name
        bad = compose(
            "config",
            overrides=["experiment=byo_tabular", f"paths.prepared={tmp_path}/q", "data.unknown_categories=skip"],
        )
    from dlforge.errors import UserError
    from pipelines._entry import one_line

    with pytest.raises(Exception) as e:
        prepare.run(bad)
    assert "config key 'data.unknown_categories': expected one of ['other', 'refuse'], got 'skip'" in one_line(e.value)
    assert isinstance(e.value, UserError) or isinstance(e.value.__cause__, UserError)
    assert not (tmp_path / "q").exists()
