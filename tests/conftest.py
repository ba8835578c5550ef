"""Shared fixtures: Hydra-composed configs whose outputs and MLflow store live in a temp folder.

The tests mirror the code: tests/unit/<package>/ (one package of src/dlforge, or tools/, on in-memory data),
tests/stages/ (a stage's run() or main on tiny data, several stages chained), tests/e2e/ (dvc repro in a
copy of the repo, servers, several processes). Markers, not folders, pick what `make test-fast` runs.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

import dlforge.config.schema  # noqa: F401  (registers the schema)

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"


@pytest.fixture(autouse=True)
def no_inherited_tracking_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without MLFLOW_TRACKING_URI and leaves none behind.

    `mlflow.set_tracking_uri` also writes the variable into `os.environ`, so one in-process stage pointed
    at a test server would otherwise send every later subprocess in the same worker to that (gone) server.
    """
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


_EMPTY_STORE: Path | None = None


def empty_mlflow_db(dest: Path) -> Path:
    """Put an empty MLflow SQLite store at `dest` (a copy; MLflow's schema migrations run once per session).

    A new SQLite store costs MLflow seconds of Alembic migrations; the copy is the same file MLflow
    would have created there. Use it only where a test's first MLflow call would create the store.
    """
    global _EMPTY_STORE
    if _EMPTY_STORE is None:
        from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as Registry
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as Tracking

        folder = Path(tempfile.mkdtemp(prefix="dlforge-empty-store-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        uri = f"sqlite:///{folder}/mlflow.db"
        for store in (Tracking(uri, str(folder / "mlruns")), Registry(uri)):
            store.engine.dispose()
        with sqlite3.connect(folder / "mlflow.db") as db:  # each user's store re-creates it, in its own artifact root
            db.execute("DELETE FROM experiments WHERE name = 'Default'")
        _EMPTY_STORE = folder / "mlflow.db"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_EMPTY_STORE, dest)
    return dest


@pytest.fixture
def mlflow_db(tmp_path: Path) -> Path:
    """tmp_path/mlflow.db (make_cfg's tracking.uri) as an empty MLflow store, for tests that track runs."""
    return empty_mlflow_db(tmp_path / "mlflow.db")


@pytest.fixture
def make_cfg(tmp_path: Path) -> Callable[..., DictConfig]:
    """Compose a config like a stage does, with outputs and the MLflow store under tmp_path."""

    def _make(*overrides: str) -> DictConfig:
        base = [
            f"paths.prepared={tmp_path}/data/${{name}}",
            f"paths.models={tmp_path}/models/${{name}}",
            f"paths.reports={tmp_path}/reports/${{name}}",
            f"paths.checkpoints={tmp_path}/checkpoints/${{name}}",
            f"tracking.uri=sqlite:///{tmp_path}/mlflow.db",
        ]
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            return compose("config", overrides=[*base, *overrides])

    return _make


@pytest.fixture
def tiny_csv(tmp_path: Path) -> Path:
    return write_tiny_csv(tmp_path / "tiny.csv")


def write_tiny_csv(path: Path) -> Path:
    """A 400-row tabular classification problem: y depends on x1 and on the category."""
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "kind": rng.choice(["a", "b", "c"], size=n)})
    logit = 2.5 * df.x1 + (df.kind == "a") * 1.5 - 0.5
    df["y"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "pos", "neg")
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    return path


def compose_tiny(root: Path, uri: str, *extra: str) -> DictConfig:
    """The tiny use case's config with outputs under `root` and MLflow at `uri` (module-scoped fixtures)."""
    base = [
        f"paths.prepared={root}/data/${{name}}",
        f"paths.models={root}/models/${{name}}",
        f"paths.reports={root}/reports/${{name}}",
        f"paths.checkpoints={root}/checkpoints/${{name}}",
        f"tracking.uri={uri}",
    ]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=[*base, *tiny_overrides(write_tiny_csv(root / "tiny.csv")), *extra])


def build_registry(root: Path, uri: str) -> None:
    """Run the tiny pipeline twice into `uri`: v1 untrained (champion first), v2 trained (clearly better)."""
    from pipelines import evaluate, prepare, register, train

    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        empty_mlflow_db(Path(uri.removeprefix("sqlite:///")))

    # v2 samples system metrics 5 times a second: its fit can take under the default 1 s interval, and
    # MLflow logs no sample for a run that ends before its first interval is up.
    trained = ["trainer.max_epochs=8", "logger.system_metrics_interval=0.2"]
    for i, extra in enumerate((["model.optimizer.lr=0.0"], trained)):
        cfg = compose_tiny(root, uri, *extra)
        if i == 0:
            prepare.run(cfg)
        train.run(cfg)
        evaluate.run(cfg)
        register.run(cfg)


@pytest.fixture(scope="session")
def tiny_registry(tmp_path_factory) -> tuple[Path, str]:
    """build_registry once per session: (root, uri). Read it only; a test that moves aliases copies root/mlflow.db."""
    root = tmp_path_factory.mktemp("tiny_registry")
    uri = f"sqlite:///{root}/mlflow.db"
    build_registry(root, uri)
    return root, uri


def tiny_overrides(csv: Path) -> list[str]:
    """Overrides that point the credit-default use case at the tiny CSV and train briefly."""
    return [
        "experiment=credit_default",
        "name=tiny",
        f"+data.source.path={csv}",
        "data.source._target_=dlforge.data.sources.table.table",
        "~data.source.package",
        "~data.source.item",
        "data.target=y",
        "data.classes=[neg,pos]",
        "data.numeric=[x1,x2]",
        "data.categorical=[kind]",
        "trainer.max_epochs=3",
        "train.batch_size=64",
        "callbacks.progress_bar=null",
    ]


def run_entry(stage: str, *args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a stage's real console entry point (`python -m pipelines.<stage>`)."""
    return subprocess.run(
        [sys.executable, "-m", f"pipelines.{stage}", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=600,
    )


def sh(cmd: list[str], cwd: Path, timeout: int = 600, check: bool = True) -> subprocess.CompletedProcess:
    """Run a real command the way a user would: the venv on PATH, this repo importable, no tracking server."""
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])  # this checkout's src even when the
    # editable install points at another worktree's
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def copy_repo(dest: Path) -> Path:
    """What `git clone` of the current work would give (tracked and new files), committed in a fresh repo."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for f in files:
        if (ROOT / f).is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            (dest / f).write_bytes((ROOT / f).read_bytes())
    sh(["git", "init", "-q", "-b", "main"], dest)
    git_commit(dest, "copy")
    return dest


def git_commit(repo: Path, message: str) -> None:
    sh(["git", "add", "-A"], repo)
    sh(
        ["git", "-c", "user.name=dlforge tests", "-c", "user.email=tests@dlforge.invalid", "commit", "-qm", message],
        repo,
    )


def mlflow_runs(root: Path, experiment: str) -> list:
    """All runs of `experiment` in the SQLite store at root/mlflow.db."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{root}/mlflow.db")
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id]) if exp else []


def work_overrides(tmp: Path, name: str, *extra: str) -> list[str]:
    """The tiny use case run from `tmp` (its CSV, prepared data, models and MLflow store all there)."""
    return [
        *tiny_overrides(tmp / "tiny.csv"),
        f"name={name}",
        f"paths.prepared={tmp}/data/tiny",
        f"paths.models={tmp}/models/{name}",
        f"paths.checkpoints={tmp}/checkpoints/{name}",
        f"tracking.uri=sqlite:///{tmp}/mlflow.db",
        *extra,
    ]


FOLDERS = {
    "prepared": "data",
    "models": "models",
    "reports": "reports",
    "checkpoints": "checkpoints",
}  # paths.* → folder


def register_use_cases(root: Path, quick: dict[str, list[str]]) -> str:
    """Each use case in `quick` (name → its quick overrides) through prepare → train → evaluate → register
    in this process, every output under `root` and one MLflow store there; returns its tracking URI."""
    from pipelines import evaluate, prepare, register, train

    empty_mlflow_db(root / "mlflow.db")
    uri = f"sqlite:///{root}/mlflow.db"
    for use_case, overrides in quick.items():
        where = [f"paths.{key}={root}/{folder}/${{name}}" for key, folder in FOLDERS.items()]
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            cfg = compose(
                "config",
                overrides=[f"experiment={use_case}", *where, f"tracking.uri={uri}", "callbacks.progress_bar=null"]
                + ["print_config=false", *overrides],
            )
        for stage in (prepare, train, evaluate, register):
            stage.run(cfg)
    return uri


_PREPARED_WORK: Path | None = None


def _prepared_work() -> Path:
    """The tiny CSV prepared once per session by the real entry point, from its own working directory."""
    global _PREPARED_WORK
    if _PREPARED_WORK is None:
        folder = Path(tempfile.mkdtemp(prefix="dlforge-work-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        write_tiny_csv(folder / "tiny.csv")
        sh([sys.executable, "-m", "pipelines.prepare", *work_overrides(folder, "prep")], folder)
        left = sorted(p.name for p in folder.iterdir())
        assert left == ["data", "tiny.csv"], f"prepare left more than its output in its working directory: {left}"
        _PREPARED_WORK = folder
    return _PREPARED_WORK


@pytest.fixture
def work(tmp_path: Path, tiny_csv: Path) -> Path:
    """A working directory holding the tiny CSV, its prepared splits and an (empty) MLflow store; stray outputs
    would show here.

    The splits are a copy of one session-wide `python -m pipelines.prepare` of the same CSV (the tests only
    read them), so each test pays neither that process nor MLflow's schema migrations.
    """
    shutil.copytree(_prepared_work() / "data", tmp_path / "data")
    empty_mlflow_db(tmp_path / "mlflow.db")
    return tmp_path


def run_main(stage: str, args: list[str], capsys) -> tuple[int, str, str]:
    """`python -m pipelines.<stage> args…` in this process: the exit code, stdout and stderr."""
    import importlib

    module = importlib.import_module(f"pipelines.{stage}")
    argv, sys.argv = sys.argv, [stage, *args]
    capsys.readouterr()
    try:
        module.main()
        code = 0
    except SystemExit as e:
        code = e.code
    finally:
        sys.argv = argv
    out, err = capsys.readouterr()
    return code, out, err


def run_stage(stage: str, args: list[str], capsys) -> tuple[int, list[str]]:
    """Like run_main: the exit code and the stderr lines."""
    code, _, err = run_main(stage, args, capsys)
    return code, err.strip().splitlines()
