"""The shared MLflow server: PostgreSQL backend, proxied artifacts, the real stage entry points, the UI in Chromium.

scripts/mlflow-server.sh is started on a fresh PostgreSQL database and a free port; the four stages
run as `python -m pipelines.<stage>` with only MLFLOW_TRACKING_URI pointing at it (as a team would).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

import services
from conftest import ROOT, run_entry, tiny_overrides, write_tiny_csv

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict]:
    """scripts/mlflow-server.sh on a throwaway PostgreSQL database; yields its URL, database and artifact folder."""
    root = tmp_path_factory.mktemp("shared")
    with services.fresh_database() as db:
        port = services.free_port()
        env = {
            "DLFORGE_BACKEND_URI": db,
            "DLFORGE_SERVER_PORT": str(port),
            "DLFORGE_ARTIFACTS_DIR": str(root / "artifacts"),
            "MLFLOW": str(services.BIN / "mlflow"),
        }
        url = f"http://127.0.0.1:{port}"
        with services.process(
            ["bash", str(ROOT / "scripts/mlflow-server.sh")], env, root / "server.log", f"{url}/health", cwd=root
        ):
            yield {"url": url, "db": db, "artifacts": root / "artifacts", "root": root}


@pytest.fixture(scope="module")
def pipeline(server) -> dict:
    """prepare → train → evaluate → register of the tiny use case, tracked only through MLFLOW_TRACKING_URI."""
    root = server["root"]
    args = [
        *tiny_overrides(write_tiny_csv(root / "tiny.csv")),
        f"paths.prepared={root}/data/tiny",
        f"paths.models={root}/models/tiny",
        f"paths.reports={root}/reports/tiny",
    ]
    timings = {}
    for stage in ("prepare", "train", "evaluate", "register"):
        start = time.monotonic()
        r = run_entry(stage, *args, env={"MLFLOW_TRACKING_URI": server["url"]})
        assert r.returncode == 0, f"{stage}: {r.stderr[-3000:]}"
        timings[stage] = round(time.monotonic() - start, 1)
    print(f"stage seconds against the server: {timings}")
    return {**server, "run_id": json.loads((root / "models/tiny/run.json").read_text())["run_id"]}


def test_stages_track_and_register_through_the_server_into_postgresql(pipeline):
    client = MlflowClient(pipeline["url"])
    run = client.get_run(pipeline["run_id"])
    assert run.info.artifact_uri.startswith("mlflow-artifacts:")  # uploaded through the server, not a local path
    assert {"test_pr_auc", "baseline_test_pr_auc"} <= run.data.metrics.keys() and len(
        client.get_metric_history(run.info.run_id, "val_loss")
    ) == 3
    assert json.loads((pipeline["root"] / "models/tiny/run.json").read_text())["tracking_uri"] == pipeline["url"]
    stored = {p.relative_to(pipeline["artifacts"]).as_posix() for p in pipeline["artifacts"].rglob("*") if p.is_file()}
    assert any(p.endswith(f"{run.info.run_id}/artifacts/plots/roc.png") for p in stored), sorted(stored)[:20]
    assert any(p.endswith("/artifacts/MLmodel") for p in stored)  # the logged model, in the server's folder
    # The registry really lives in PostgreSQL:
    assert services.query(pipeline["db"], "SELECT name FROM registered_models") == [("tiny",)]
    assert services.query(pipeline["db"], "SELECT alias, version FROM registered_model_aliases ORDER BY alias") == [
        ("challenger", 1),
        ("champion", 1),
    ]


def test_champion_loads_and_predicts_through_the_server(pipeline, tmp_path):
    mlflow.set_tracking_uri(pipeline["url"])
    model = mlflow.pyfunc.load_model("models:/tiny@champion")
    out = model.predict(pd.DataFrame({"x1": [3.0, -3.0], "x2": [0.0, 0.0], "kind": ["a", "b"]}))
    assert out["label"].tolist() == ["pos", "neg"]
    r = subprocess.run(
        [str(services.BIN / "dlforge"), "list", "--json"],
        env={**os.environ, "MLFLOW_TRACKING_URI": pipeline["url"]},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0 and json.loads(r.stdout)[0]["aliases"] == {"challenger": 1, "champion": 1}, r.stderr


def test_server_script_refuses_an_unreachable_database(tmp_path):
    env = {
        **os.environ,
        "DLFORGE_BACKEND_URI": "postgresql+psycopg2://dlforge:secret@127.0.0.1:1/none",
        "MLFLOW": str(services.BIN / "mlflow"),
    }
    r = subprocess.run(
        ["bash", str(ROOT / "scripts/mlflow-server.sh")], env=env, capture_output=True, text=True, timeout=60
    )
    assert (
        r.returncode == 2
        and "PostgreSQL not reachable at postgresql+psycopg2://dlforge:***@127.0.0.1:1/none" in r.stderr
        and "secret" not in r.stderr
    )


def test_ui_shows_runs_metrics_and_the_champion_in_a_real_browser(pipeline, tmp_path):
    """Headless Chromium on the server's UI: the experiment's run, its test metrics, the model's champion alias."""
    from selenium.webdriver.support.ui import WebDriverWait

    client = MlflowClient(pipeline["url"])
    run = client.get_run(pipeline["run_id"])
    url, exp = pipeline["url"], run.info.experiment_id
    browser = services.chrome(tmp_path / "profile")

    def page(path: str, *texts: str, shot: str) -> str:
        """Open `path`, wait (bounded) until every text is on the page, save a screenshot."""
        browser.get(f"{url}/{path}")
        body = lambda: browser.find_element("tag name", "body").text  # noqa: E731
        try:
            WebDriverWait(browser, 60, poll_frequency=0.5).until(lambda _: all(t in body() for t in texts))
        finally:
            browser.save_screenshot(str(tmp_path / shot))
        return body()

    try:
        page(f"#/experiments/{exp}/runs", "Training runs", run.info.run_name, "1 matching run", shot="experiment.png")
        shown = page(
            f"#/experiments/{exp}/runs/{run.info.run_id}",
            "Metrics",
            "test_pr_auc",
            "baseline_test_pr_auc",
            shot="run.png",
        )
        assert str(run.data.metrics["test_pr_auc"]) in shown
        shown = page("#/models/tiny", "Version 1", "@ champion", shot="model.png")
        assert "dlforge.gate.promoted" in shown
    finally:
        browser.quit()
    for shot in ("experiment.png", "run.png", "model.png"):
        assert (tmp_path / shot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"screenshots: {tmp_path}")
