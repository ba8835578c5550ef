"""Real services for the tests: processes on 127.0.0.1, throwaway PostgreSQL databases, headless Chromium.

Tests that need a system service call `need(...)`: under CI (CI=true, where .ci/run installs and
starts everything) a missing service FAILS the test; on a developer machine it skips with the reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from conftest import ROOT

IN_CI = os.environ.get("CI") == "true"
BIN = Path(sys.executable).parent
# The database role that scripts/postgres-setup.sh creates (it may create databases); .ci/run exports it.
PG_URI = os.environ.get("DLFORGE_TEST_PG_URI", "postgresql+psycopg2://dlforge:dlforge@127.0.0.1:5432/mlflow")
CHROMEDRIVER = os.environ.get("DLFORGE_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM = os.environ.get("DLFORGE_CHROMIUM", "/usr/bin/chromium")


def need(ok: bool, why: str) -> None:
    """Fail under CI, skip elsewhere, when a system service the test needs is missing."""
    if not ok:
        (pytest.fail if IN_CI else pytest.skip)(f"{why} (CI=true installs it through .ci/run)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def process(
    cmd: list[str], env: dict[str, str], log: Path, ready_url: str, timeout: float = 180, cwd: Path | None = None
) -> Iterator[subprocess.Popen]:
    """Run `cmd` in its own process group until the block ends; enter once `ready_url` answers 200."""
    env = {**os.environ, **env, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"{cmd[0]} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(ready_url, timeout=2) as r:
                    if r.status == 200:
                        break
            if time.monotonic() > deadline:
                raise AssertionError(f"{ready_url} not answering after {timeout}s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # the whole group: mlflow and the uvicorn/gunicorn it starts
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _with_db(uri: str, db: str) -> str:
    parts = urlsplit(uri)
    return urlunsplit(parts._replace(path=f"/{db}"))


@contextlib.contextmanager
def fresh_database(uri: str = PG_URI) -> Iterator[str]:
    """A new empty PostgreSQL database for one test module (dropped afterwards); yields its URI."""
    need(_importable("psycopg2"), "the PostgreSQL driver psycopg2 is not installed")
    import psycopg2

    admin_dsn = _with_db(uri, "postgres").replace("+psycopg2", "")
    try:
        admin = psycopg2.connect(admin_dsn, connect_timeout=5)
    except psycopg2.OperationalError as e:
        need(
            False,
            f"PostgreSQL not reachable at {urlsplit(uri).hostname}:{urlsplit(uri).port} ({' '.join(str(e).split())[:150]}); run: sudo scripts/postgres-setup.sh",
        )
    admin.autocommit = True
    name = f"dlforge_test_{secrets.token_hex(4)}"
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE {name}")
        yield _with_db(uri, name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def query(uri: str, sql: str) -> list[tuple]:
    import psycopg2

    with (
        contextlib.closing(psycopg2.connect(uri.replace("+psycopg2", ""), connect_timeout=5)) as conn,
        conn.cursor() as cur,
    ):
        cur.execute(sql)
        return cur.fetchall()


def chrome(profile: Path):
    """Headless Chromium through the system chromedriver, with a fresh profile and no background traffic."""
    need(
        Path(CHROMEDRIVER).exists() and Path(CHROMIUM).exists(),
        f"Chromium/chromedriver not found at {CHROMIUM}, {CHROMEDRIVER} (apt-get install chromium chromium-driver)",
    )
    need(_importable("selenium"), "selenium is not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1600,1000",
        f"--user-data-dir={profile}",
    ):
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


def _importable(module: str) -> bool:
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def serve(uri: str, model: str, log: Path, timeout: float = 180) -> Iterator[str]:
    """Start `mlflow models serve` in its own process group; yield its URL once /ping answers."""
    port = free_port()
    cmd = [
        str(BIN / "mlflow"),
        "models",
        "serve",
        "-m",
        f"models:/{model}@champion",
        "--env-manager",
        "local",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    url = f"http://127.0.0.1:{port}"
    with process(cmd, {"MLFLOW_TRACKING_URI": uri}, log, f"{url}/ping", timeout, cwd=ROOT):
        yield url


def post(url: str, body: dict) -> tuple[int, dict]:
    """POST a JSON body to /invocations; the status and the decoded answer, errors included."""
    req = urllib.request.Request(
        f"{url}/invocations", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@contextlib.contextmanager
def auth_server(root: Path, admin_password: str, env: dict[str, str] | None = None) -> Iterator[dict]:
    """scripts/mlflow-server.sh (basic-auth app) on two throwaway PostgreSQL databases: runs/registry and users.

    The admin password goes in through a credentials file outside git (mode 600), as a team would keep it.
    Yields url, db, auth_db, artifacts, root, log and the admin's credentials.
    """
    creds = root / "credentials.env"
    creds.write_text(f"MLFLOW_AUTH_ADMIN_PASSWORD={admin_password}\n")
    creds.chmod(0o600)
    with fresh_database() as db, fresh_database() as auth_db:
        port = free_port()
        server_env = {
            "DLFORGE_BACKEND_URI": db,
            "DLFORGE_AUTH_DB_URI": auth_db,
            "DLFORGE_SERVER_PORT": str(port),
            "DLFORGE_ARTIFACTS_DIR": str(root / "artifacts"),
            "DLFORGE_CREDENTIALS_FILE": str(creds),
            "MLFLOW": str(BIN / "mlflow"),
            **(env or {}),
        }
        server_env = {**{k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}, **server_env}
        url = f"http://127.0.0.1:{port}"
        log = root / "server.log"
        with process(["bash", str(ROOT / "scripts/mlflow-server.sh")], server_env, log, f"{url}/health", cwd=root):
            yield {
                "url": url,
                "db": db,
                "auth_db": auth_db,
                "artifacts": root / "artifacts",
                "root": root,
                "log": log,
                "admin": ("admin", admin_password),
            }


def rest(url: str, path: str, auth: tuple[str, str] | None, body: dict | None = None) -> tuple[int, dict]:
    """One MLflow REST call with HTTP basic auth (GET without a body, POST with one): status and JSON answer."""
    import base64

    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{url}{path}", data=data, headers={"Content-Type": "application/json"})
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        text = e.read()
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, {"message": text.decode(errors="replace")}


def credentials_env(user: str, password: str) -> dict[str, str]:
    return {"MLFLOW_TRACKING_USERNAME": user, "MLFLOW_TRACKING_PASSWORD": password}


def stored_text(uri: str) -> str:
    """Every row of every table of a PostgreSQL database as text (to grep it for what must not be there)."""
    tables = query(uri, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
    return "\n".join(
        str(row) for (table,) in tables for row in query(uri, f'SELECT row_to_json(t)::text FROM "{table}" t')
    )
