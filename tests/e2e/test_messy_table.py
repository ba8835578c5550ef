"""A user's messy table through the README's four commands and over HTTP, with no workaround.

The table has what real ones have: gaps in numeric, categorical, boolean and date columns, a
300-level categorical column with a long tail (rare values, values only in val/test), booleans, a
date column, an integer-coded category (area codes), a multi-line quoted note, CRLF line ends and a
BOM. It is prepared, trained, evaluated and registered with the README's `for s in prepare train
evaluate register` loop; the champion is served by `mlflow models serve` and scored by
`dlforge predict` with gaps and unseen values in the requests.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, empty_mlflow_db, sh
from dlforge.data.split import random_split
from services import BIN, post, serve

pytestmark = pytest.mark.e2e

NUMERIC, CATEGORICAL, DATES = ["tenure", "charges", "autopay"], ["plan", "agent", "area_code", "paperless"], ["signup"]
NOTES = ["called support", 'asked about "discounts", twice', "moved house\nnew address", "fine", "happy"]


def messy_table(n: int = 2400, seed: int = 0, gaps: bool = True) -> pd.DataFrame:
    """Customers and whether they churned; `gaps`: about 1-3 % missing in five feature columns."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 72, n).astype(float)
    charges = np.round(rng.normal(65, 20, n).clip(15, 130), 2)
    plan = rng.choice(["basic", "plus", "premium", "family"], n, p=[0.4, 0.3, 0.2, 0.1]).astype(object)
    tail = 1 / np.arange(1, 301) ** 1.1  # 300 agents, a few busy ones and a long tail of rare ones
    agent = np.array([f"agent_{k:03d}" for k in rng.choice(300, n, p=tail / tail.sum())], dtype=object)
    area = rng.choice([415, 408, 510], n, p=[0.5, 0.25, 0.25])
    paperless, autopay = (rng.random(n) < 0.6).astype(object), rng.random(n) < 0.4
    signup = (pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 5 * 365, n), "D")).strftime("%Y-%m-%d")
    logit = -1 + 0.04 * (charges - 65) - 0.05 * (tenure - 36) + 0.8 * (plan == "basic") - 0.7 * autopay
    churn = np.where(rng.random(n) < 1 / (1 + np.exp(-(logit + 0.5 * (area == 510)))), "yes", "no")
    df = pd.DataFrame(
        {
            "tenure": tenure,
            "charges": charges,
            "plan": plan,
            "agent": agent,
            "area_code": area,
            "paperless": paperless,
            "autopay": autopay,
            "signup": np.asarray(signup, dtype=object),
            "note": rng.choice(NOTES, n),
            "churn": churn,
        }
    )
    df.loc[3, "note"] = NOTES[2]  # a line break inside a quoted field near the top
    if gaps:
        for column, share in (
            ("tenure", 0.03),
            ("charges", 0.02),
            ("plan", 0.02),
            ("paperless", 0.01),
            ("signup", 0.01),
        ):
            df.loc[rng.random(n) < share, column] = None
    return df


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    """As a spreadsheet on Windows saves it: a BOM and CRLF line ends."""
    df.to_csv(path, index=False, lineterminator="\r\n", encoding="utf-8-sig")
    return path


def file_line(df: pd.DataFrame, row: int) -> int:
    """The line data row `row` starts on (header = line 1), counting the notes' line breaks before it."""
    return 2 + row + int(df["note"].iloc[:row].str.count("\n").sum())


def deep_test_row(df: pd.DataFrame, after: int) -> int:
    """A row past `after` that the default split (seed 42, 15 % val, 15 % test, stratified) puts in test."""
    labels = (df["churn"] == "yes").to_numpy(np.int64)
    test = random_split(len(df), 0.15, 0.15, 42, labels)["test"]
    return int(test[test > after][0])


def test_messy_table_four_stages_and_served_with_gaps_and_unseen_values(tmp_path):
    df = messy_table()
    csv = write_csv(df, tmp_path / "customers.csv")
    empty_mlflow_db(tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    prepared = tmp_path / "prepared"
    args = (
        f"experiment=byo_tabular data.source.path={csv} data.target=churn 'data.classes=[no,yes]' "
        f"'data.numeric=[{','.join(NUMERIC)}]' 'data.categorical=[{','.join(CATEGORICAL)}]' "
        f"'data.datetime=[{','.join(DATES)}]' "
        f"paths.prepared={prepared} paths.models={tmp_path}/models paths.reports={tmp_path}/reports "
        f"tracking.uri={uri} trainer.max_epochs=2 train.batch_size=64 callbacks.progress_bar=null print_config=false"
    )
    loop = f"for s in prepare train evaluate register; do python -m pipelines.$s {args} || exit 1; done"
    out = sh(["bash", "-c", loop], cwd=ROOT, timeout=900).stdout

    # prepare's report: every gap counted per column and split, rare and unseen agents share <other>
    meta = json.loads((prepared / "meta.json").read_text())
    report = meta["report"]
    labels = (df["churn"] == "yes").to_numpy(np.int64)
    idx = random_split(len(df), 0.15, 0.15, 42, labels)
    for split, rows in idx.items():
        gaps = df.iloc[rows][[*NUMERIC, *DATES, *CATEGORICAL]].isna().sum()
        assert report["imputed"][split] == {c: int(n) for c, n in gaps.items() if n}, split
    train_agents = df["agent"].iloc[idx["train"]].value_counts()
    assert report["rare"]["agent"] == {
        "levels": int((train_agents < 5).sum()),
        "rows": int(train_agents[train_agents < 5].sum()),
    }
    unseen = {s: int((~df["agent"].iloc[idx[s]].isin(train_agents.index)).sum()) for s in ("val", "test")}
    assert unseen["val"] + unseen["test"] > 0 and {s: report["unseen"][s].get("agent", 0) for s in unseen} == unseen
    assert "area_code" not in report["unseen"]["test"]  # 415 read from the CSV and 415 in a request: one category
    total = {c: sum(report["imputed"][s].get(c, 0) for s in idx) for c in ("tenure", "plan")}
    assert f"tenure {total['tenure']}" in out and "<other>: agent" in out and "dates expanded: signup" in out

    # the MLflow run and the model card say the same
    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient(uri)
    version = client.get_model_version_by_alias("byo_tabular", "champion")
    run = client.get_run(version.run_id).data.metrics
    assert run["prepare_imputed/tenure"] == total["tenure"] and run["prepare_imputed/plan"] == total["plan"]
    assert run["prepare_unseen_categories/agent"] == unseen["val"] + unseen["test"]
    assert "## Preprocessing" in version.description and f"tenure {total['tenure']}" in version.description

    # served over HTTP: JSON nulls and unseen values are answered as prepare handled them
    rows = pd.DataFrame(
        {
            "tenure": [None, 12.0, 12.0],
            "charges": [70.0, None, None],
            "plan": [None, "basic", "basic"],
            "agent": ["agent_000", "agent_new_1", "agent_new_2"],
            "area_code": [415, 999, 999],
            "paperless": [True, None, None],
            "autopay": [False, True, True],
            "signup": ["2021-06-01", None, None],
        }
    )
    body = {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
    assert body["dataframe_split"]["data"][0][0] is None  # a JSON null on the wire
    log = tmp_path / "serve.log"
    for url in serve(uri, "byo_tabular", log):
        status, answer = post(url, body)
        assert status == 200, answer
    served = pd.DataFrame(answer["predictions"])
    assert served.iloc[1].equals(served.iloc[2])  # two unseen agents: both <other>
    local = mlflow.pyfunc.load_model("models:/byo_tabular@champion").predict(rows.astype({"tenure": float}))
    assert np.allclose(local[["proba_no", "proba_yes"]], served[["proba_no", "proba_yes"]], atol=1e-6)  # NaN = null
    assert "column 'agent' 2 of 3 rows unseen in train -> <other>" in log.read_text()

    # dlforge predict: a CSV with gaps and unseen values, the same answers
    request = write_csv(rows, tmp_path / "request.csv")
    sh(
        [str(BIN / "dlforge"), "--tracking-uri", uri, "predict", "byo_tabular", str(request), str(tmp_path / "p.csv")],
        ROOT,
    )
    scored = pd.read_csv(tmp_path / "p.csv")
    assert np.allclose(scored[["proba_no", "proba_yes"]], served[["proba_no", "proba_yes"]], atol=1e-6)
