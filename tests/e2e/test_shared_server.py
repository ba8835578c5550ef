"""The shared MLflow server: PostgreSQL backend, proxied artifacts, the real stage entry points, the UI in Chromium.

scripts/mlflow-server.sh is started on a fresh PostgreSQL database and a free port; the four stages
run as `python -m pipelines.<stage>` with only MLFLOW_TRACKING_URI pointing at it (as a team would).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

import services
from conftest import CONF, ROOT, run_entry, tiny_overrides, write_tiny_csv
from dlforge import keys as K

pytestmark = pytest.mark.e2e


ADMIN_SECRET = f"adm-{secrets.token_urlsafe(12)}"  # random per run: grepped for everywhere afterwards
WRITER = ("writer", f"wr-{secrets.token_urlsafe(12)}")
READER = ("reader", f"rd-{secrets.token_urlsafe(12)}")


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict]:
    """scripts/mlflow-server.sh (basic auth) on throwaway PostgreSQL databases, with a writer and a reader user."""
    root = tmp_path_factory.mktemp("shared")
    with services.auth_server(root, ADMIN_SECRET) as srv:
        for user, password in (WRITER, READER):
            status, answer = services.rest(
                srv["url"], "/api/2.0/mlflow/users/create", srv["admin"], {"username": user, "password": password}
            )
            assert status == 200, answer
        yield srv


@pytest.fixture(scope="module")
def pipeline(server) -> dict:
    """prepare → train → evaluate → register of the tiny use case as the writer (MLFLOW_TRACKING_USERNAME/PASSWORD)."""
    root = server["root"]
    args = [
        *tiny_overrides(write_tiny_csv(root / "tiny.csv")),
        f"paths.prepared={root}/data/tiny",
        f"paths.models={root}/models/tiny",
        f"paths.reports={root}/reports/tiny",
    ]
    timings, output = {}, []
    for stage in ("prepare", "train", "evaluate", "register"):
        start = time.monotonic()
        r = run_entry(stage, *args, env={"MLFLOW_TRACKING_URI": server["url"], **services.credentials_env(*WRITER)})
        assert r.returncode == 0, f"{stage}: {r.stderr[-3000:]}"
        timings[stage] = round(time.monotonic() - start, 1)
        output += [r.stdout, r.stderr]
    print(f"stage seconds against the server: {timings}")
    run_id = json.loads((root / "models/tiny/run.json").read_text())["run_id"]
    return {**server, "run_id": run_id, "args": args, "output": output}


@pytest.fixture(scope="module", autouse=True)
def _restore_credentials() -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")}
    yield
    for k, v in saved.items():
        os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def writer_client(server: dict) -> MlflowClient:
    os.environ.update(services.credentials_env(*WRITER))  # MLflow's client reads credentials from the environment
    return MlflowClient(server["url"])


def test_stages_track_and_register_through_the_server_into_postgresql(pipeline):
    client = writer_client(pipeline)
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
    writer_client(pipeline)
    mlflow.set_tracking_uri(pipeline["url"])
    model = mlflow.pyfunc.load_model("models:/tiny@champion")
    out = model.predict(pd.DataFrame({"x1": [3.0, -3.0], "x2": [0.0, 0.0], "kind": ["a", "b"]}))
    assert out["label"].tolist() == ["pos", "neg"]
    r = subprocess.run(
        [str(services.BIN / "dlforge"), "list", "--json"],
        env={**os.environ, "MLFLOW_TRACKING_URI": pipeline["url"], **services.credentials_env(*WRITER)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0 and json.loads(r.stdout)[0]["aliases"] == {"challenger": 1, "champion": 1}, r.stderr


def test_server_script_refuses_an_unreachable_database(tmp_path):
    env = {
        **os.environ,
        "DLFORGE_BACKEND_URI": "postgresql+psycopg2://dlforge:secret@127.0.0.1:1/none",
        "MLFLOW_AUTH_ADMIN_PASSWORD": "x",
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

    client = writer_client(pipeline)
    run = client.get_run(pipeline["run_id"])
    url, exp = pipeline["url"], run.info.experiment_id
    browser = services.chrome(tmp_path / "profile")
    token = base64.b64encode(":".join(WRITER).encode()).decode()  # basic auth on every request the UI makes
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Basic {token}"}})

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


# --- authentication ---------------------------------------------------------------------------------------------


def test_no_or_wrong_credentials_get_401(server):
    search = "/api/2.0/mlflow/experiments/search?max_results=1"
    assert services.rest(server["url"], search, None)[0] == 401
    assert services.rest(server["url"], search, ("admin", "wrong"))[0] == 401
    assert services.rest(server["url"], search, (WRITER[0], READER[1]))[0] == 401
    assert services.rest(server["url"], search, WRITER)[0] == 200


def test_reader_browses_and_loads_but_cannot_register_or_move_aliases(pipeline, tmp_path):
    url, run_id = pipeline["url"], pipeline["run_id"]
    assert services.rest(url, f"/api/2.0/mlflow/runs/get?run_id={run_id}", READER)[0] == 200
    status, versions = services.rest(url, "/api/2.0/mlflow/model-versions/search?filter=name%3D%27tiny%27", READER)
    assert status == 200 and len(versions["model_versions"]) == 1
    code = (
        "import mlflow, pandas as pd; m = mlflow.pyfunc.load_model('models:/tiny@champion'); "
        "print(m.predict(pd.DataFrame({'x1': [3], 'x2': [0], 'kind': ['a']}))['label'].tolist())"
    )
    env = {**os.environ, "MLFLOW_TRACKING_URI": url, **services.credentials_env(*READER)}
    r = subprocess.run([services.BIN / "python", "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip().endswith("['pos']"), r.stderr[-2000:]
    source = versions["model_versions"][0]["source"]
    status, answer = services.rest(
        url, "/api/2.0/mlflow/model-versions/create", READER, {"name": "tiny", "source": source, "run_id": run_id}
    )
    assert status == 403, answer
    status, answer = services.rest(
        url, "/api/2.0/mlflow/registered-models/alias", READER, {"name": "tiny", "alias": "champion", "version": "1"}
    )
    assert status == 403, answer
    assert services.query(pipeline["db"], "SELECT alias, version FROM registered_model_aliases ORDER BY alias") == [
        ("challenger", 1),
        ("champion", 1),
    ]
    assert services.query(pipeline["db"], "SELECT name FROM registered_models ORDER BY name") == [("tiny",)]


def test_cli_history_and_promote_work_for_the_writer(pipeline, capsys):
    """`dlforge.cli.main(argv)` in-process (the console script's function; `dlforge list` runs as the real script
    above), the writer's credentials in the environment as MLflow's client reads them."""
    writer_client(pipeline)

    def dlforge(*a: str) -> subprocess.CompletedProcess:
        from dlforge.cli import main

        capsys.readouterr()
        code = main(["--tracking-uri", pipeline["url"], *a])
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(a, code, out, err)

    r = dlforge("history", "tiny", "--json")
    assert r.returncode == 0, r.stderr
    assert [(m["seq"], m["alias"], m["version"]) for m in json.loads(r.stdout)] == [
        (1, "challenger", 1),
        (2, "champion", 1),
    ]
    r = dlforge("promote", "tiny/1", "--reason", "already")
    assert r.returncode == 2 and "already champion" in r.stderr


def test_wrong_credentials_fail_fast_before_training(pipeline, tmp_path):
    start = time.monotonic()
    r = run_entry(
        "train",
        *pipeline["args"][:-2],
        f"paths.models={tmp_path}/models",
        f"paths.reports={tmp_path}/reports",
        env={"MLFLOW_TRACKING_URI": pipeline["url"], **services.credentials_env(WRITER[0], "not-it")},
    )
    assert time.monotonic() - start < 30
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        f"error: config key 'tracking.uri': the MLflow server at {pipeline['url']} refused user 'writer': "
        "wrong or missing credentials"
    ]
    assert not (tmp_path / "models").exists()


def test_no_secret_is_stored_logged_or_printed(pipeline):
    """Every password: not in the backend database, artifacts, server log or stage output (the auth DB keeps hashes)."""
    stored = services.stored_text(pipeline["db"])
    assert "tiny" in stored and "test_pr_auc" in stored  # it really holds the runs
    files = [p for p in pipeline["artifacts"].rglob("*") if p.is_file()]
    assert len(files) > 5
    places = {
        "backend database": stored,
        "auth database": services.stored_text(pipeline["auth_db"]),
        "server log": pipeline["log"].read_text(),
        "stage output": "\n".join(pipeline["output"]),
        **{f"artifact {p.name}": p.read_bytes().decode(errors="replace") for p in files},
    }
    for secret in (ADMIN_SECRET, WRITER[1], READER[1]):
        leaks = [where for where, text in places.items() if secret in text]
        assert leaks == [], leaks


def test_server_script_needs_an_admin_password_and_a_credentials_file_outside_git(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_AUTH_ADMIN_PASSWORD"}
    env["MLFLOW"] = str(services.BIN / "mlflow")
    script = ["bash", str(ROOT / "scripts/mlflow-server.sh")]
    r = subprocess.run(script, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "MLFLOW_AUTH_ADMIN_PASSWORD is not set" in r.stderr
    inside = ROOT / ".credentials-test.env"  # inside the checkout (untracked): refused
    try:
        inside.write_text("MLFLOW_AUTH_ADMIN_PASSWORD=x\n")
        inside.chmod(0o600)
        r = subprocess.run(script, env={**env, "DLFORGE_CREDENTIALS_FILE": str(inside)}, capture_output=True, text=True)
        assert r.returncode == 2 and "inside the git checkout" in r.stderr
    finally:
        inside.unlink()
    loose = tmp_path / "creds.env"
    loose.write_text("MLFLOW_AUTH_ADMIN_PASSWORD=x\n")
    loose.chmod(0o644)
    r = subprocess.run(script, env={**env, "DLFORGE_CREDENTIALS_FILE": str(loose)}, capture_output=True, text=True)
    assert r.returncode == 2 and "chmod 600" in r.stderr and "x\n" not in r.stderr


# --- concurrent promotions --------------------------------------------------------------------------------------


def test_eight_concurrent_registrations_leave_one_champion_and_a_whole_history(pipeline, tmp_path):
    """8 real register processes for one model at once (4 untrained, 4 trained copies) against the server.

    The model starts with an untrained champion, so every trained copy alone would beat it: only the
    per-model lock (dlforge.registry.aliases.hold) makes exactly one of them the champion, the first
    trained version (versions are numbered in the order the lock was held).
    """
    import shutil

    from hydra import compose, initialize_config_dir

    from dlforge.registry import aliases
    from pipelines import evaluate, register, train

    url, root, base = pipeline["url"], pipeline["root"], pipeline["args"][:-2]
    env = {"MLFLOW_TRACKING_URI": url, **services.credentials_env(*WRITER)}

    def in_process(*overrides: str):  # the setup's stages run here, as the writer; the race below runs as processes
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            return compose("config", overrides=[*base, *overrides, f"tracking.uri={url}"])

    client = writer_client(pipeline)  # the writer's credentials in this process's environment
    bad = [f"paths.models={tmp_path}/bad/models", f"paths.reports={tmp_path}/bad/reports"]
    untrained = in_process(*bad, "model.optimizer.lr=0.0", "trainer.max_epochs=1")
    train.run(untrained)
    evaluate.run(untrained)
    experiment = client.get_experiment_by_name("tiny").experiment_id
    trained_on = json.loads((tmp_path / "bad/models/run.json").read_text())["run_id"]
    lineage = {K.DATA_HASH: client.get_run(trained_on).data.tags[K.DATA_HASH]}  # every copy: the same prepared data
    quality = {}

    def copy(i: int, kind: str) -> list[str]:
        src = tmp_path / "bad" if kind == "untrained" else root
        models, reports = tmp_path / f"c{i}/models", tmp_path / f"c{i}/reports"
        models.mkdir(parents=True), reports.mkdir(parents=True)
        shutil.copy(src / ("models" if kind == "untrained" else "models/tiny") / "model.pt", models)
        shutil.copy(src / ("reports" if kind == "untrained" else "reports/tiny") / "metrics.json", reports)
        run = client.create_run(experiment, run_name=f"race-{i}-{kind}", tags=lineage)
        quality[run.info.run_id] = kind
        (models / "run.json").write_text(
            json.dumps({"run_id": run.info.run_id, "tracking_uri": url, "experiment": "tiny"})
        )
        return [
            *base,
            f"paths.models={models}",
            f"paths.reports={reports}",
            "register.model_name=race",
            "register.gate.bootstrap_samples=200",
        ]

    register.run(in_process(*copy(0, "untrained")[len(base) :]))  # v1: an untrained champion to beat
    procs = [
        subprocess.Popen(
            [services.BIN / "python", "-m", "pipelines.register", *copy(i, "trained" if i % 2 else "untrained")],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(1, 9)
    ]
    try:
        outs = [p.communicate(timeout=600) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                print("still running:", p.args[-4], p.communicate()[1][-1500:])
    assert [p.returncode for p in procs] == [0] * 8, [o[1][-1500:] for o in outs]

    versions = {int(v.version): quality[v.run_id] for v in client.search_model_versions("name='race'")}
    assert sorted(versions) == list(range(1, 10))  # every version recorded
    log = aliases.history(client, "race")
    assert [m["seq"] for m in log] == list(range(1, len(log) + 1))  # no duplicate, no gap
    held = {a: int(v) for a, v in client.get_registered_model("race").aliases.items()}
    assert aliases.replay(log) == held  # the log replays to the aliases
    first_trained = min(v for v, q in versions.items() if q == "trained")
    assert held == {"champion": first_trained, "challenger": 9}
    promotions = [m["version"] for m in log if m["alias"] == "champion"]
    assert promotions == [1, first_trained]  # one gate promotion among the eight: the first trained version
    stored = services.query(
        pipeline["db"], "SELECT key FROM model_version_tags WHERE name = 'race' AND key LIKE 'dlforge.alias_log.%%'"
    )
    assert len(stored) == len(log)  # one tag per move, on the versions...
    model_tags = services.query(pipeline["db"], "SELECT key FROM registered_model_tags WHERE key LIKE 'dlforge.%%'")
    assert model_tags == []  # ...none on the registered model's tag table
    names = services.query(pipeline["db"], "SELECT name FROM registered_models ORDER BY name")
    assert names == [("race",), ("tiny",)]  # no lock left behind
    other = max(v for v, q in versions.items() if q == "trained")
    reader = {**os.environ, "MLFLOW_TRACKING_URI": url, **services.credentials_env(*READER)}
    r = subprocess.run(  # the CLI as a READ user: the server refuses, the champion stays
        [services.BIN / "dlforge", "promote", f"race/{other}", "--reason", "reader tries"],
        env=reader,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode != 0 and "403" in r.stderr or "denied" in r.stderr, r.stderr[-2000:]
    assert aliases.current(client, "race", "champion").version == str(first_trained)
    assert services.query(pipeline["db"], "SELECT name FROM registered_models ORDER BY name") == names
