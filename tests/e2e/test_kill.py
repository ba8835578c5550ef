"""SIGKILL the real stage process at five points of `dvc repro`, then `dvc repro` again: nothing is lost.

One copy of the repo runs the credit_default use case on the tests' tiny CSV (400 rows, 3-5 epochs,
one thread), so each kill costs process start-ups, not training. Each test arms one fault point
(dlforge.kill_points: the process writes its pid to a file and waits there), kills the process with
SIGKILL once it is there, and re-runs `dvc repro`. After each: the pipeline completes and is up to
date, no `.tmp` leftovers or checkpoint folder remain, no MLflow run of the use case is RUNNING, every
registered version has its gate decision recorded and applied, and the champion is such a version.
The tests run in file order, each changing what makes its stage re-run (as a real edit would).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from conftest import ROOT, copy_repo, sh, write_tiny_csv

pytestmark = pytest.mark.e2e
UC = "credit_default"
TARGET = f"register@{UC}"


def set_epochs(repo: Path, epochs: int) -> None:
    path = repo / f"conf/experiment/{UC}.yaml"
    path.write_text(re.sub(r"max_epochs: \d+", f"max_epochs: {epochs}", path.read_text()))


def append_comment(repo: Path, module: str) -> None:
    path = repo / module
    path.write_text(path.read_text() + "\n# edited\n")


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A copy whose credit_default reads the tiny CSV, in batches of 64 on one thread."""
    repo = copy_repo(tmp_path_factory.mktemp("kill") / "repo")
    write_tiny_csv(repo / "tiny.csv")
    (repo / f"conf/data/{UC}.yaml").write_text(
        "_target_: dlforge.data.families.tabular_classification.TabularClassification\n"
        "source: {_target_: dlforge.data.sources.table.table, _partial_: true, path: tiny.csv}\n"
        "target: y\nclasses: [neg, pos]\nnumeric: [x1, x2]\ncategorical: [kind]\n"
    )
    experiment = repo / f"conf/experiment/{UC}.yaml"
    text = re.sub(r"batch_size: \d+", "batch_size: 64", experiment.read_text())
    experiment.write_text(text.replace("  batch_size: 64", "  threads: 1\n  batch_size: 64", 1))
    return repo


def killed_repro(repo: Path, point: str, *args: str, pythonpath: str = str(ROOT)) -> None:
    """Run `dvc repro *args` with `point` armed; SIGKILL the stage process when it gets there."""
    marker = repo / "fault.pid"
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
        PYTHONPATH=pythonpath,
        DLFORGE_FAULT_AT=point,
        DLFORGE_FAULT_FILE=str(marker),
    )
    with open(repo / f"killed-{point}.log", "w") as log:
        proc = subprocess.Popen(["dvc", "repro", *args], cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 400
        while not marker.exists() or not marker.read_text():
            assert proc.poll() is None, (
                f"dvc repro ended before {point}:\n{(repo / f'killed-{point}.log').read_text()[-3000:]}"
            )
            assert time.monotonic() < deadline, f"{point} not reached"
            time.sleep(0.05)
        os.kill(int(marker.read_text()), signal.SIGKILL)
        assert proc.wait(timeout=120) != 0
    marker.unlink()


def repro(repo: Path) -> str:
    return sh(["dvc", "repro", TARGET], repo).stdout


def assert_intact(repo: Path) -> None:
    assert json.loads(sh(["dvc", "status", "--json", TARGET], repo).stdout or "{}") == {}
    leftovers = [p for d in ("data", "models", "reports") for p in (repo / d).rglob("*.tmp")]
    assert not leftovers, f"half-written outputs left: {leftovers}"
    assert not (repo / "checkpoints" / UC).exists(), "checkpoints outlived a finished train"
    client = MlflowClient(f"sqlite:///{repo}/mlflow.db")
    exp = client.get_experiment_by_name(UC)
    running = client.search_runs([exp.experiment_id], "attributes.status = 'RUNNING'")
    assert not running, f"runs left RUNNING: {[r.info.run_id for r in running]}"
    versions = client.search_model_versions(f"name='{UC}'")
    for v in versions:
        assert v.tags.get("dlforge.gate.applied") == "true", f"v{v.version} has no applied gate decision"
        assert "dlforge.gate.reason" in v.tags and "dlforge.gate.promoted" in v.tags
    champion = client.get_model_version_by_alias(UC, "champion")
    assert champion.tags["dlforge.gate.promoted"] == "true"
    registry = json.loads((repo / f"reports/{UC}/registry.json").read_text())
    assert registry["champion_version"] == int(champion.version)
    assert registry["version"] == max(int(v.version) for v in versions)


def test_kill_mid_epoch_then_repro_resumes(repo):
    set_epochs(repo, 3)
    killed_repro(repo, "mid_epoch", TARGET)
    assert (repo / f"data/prepared/{UC}/meta.json").exists() and not (repo / f"models/{UC}").exists()
    out = repro(repo)
    assert "resumed from epoch 1" in out
    assert_intact(repo)


def test_kill_while_writing_a_checkpoint(repo):
    set_epochs(repo, 4)  # train re-runs (a new config: a fresh checkpoint folder)
    killed_repro(repo, "checkpoint_write", TARGET)
    [folder] = (repo / "checkpoints" / UC).iterdir()
    assert (folder / "last.ckpt.tmp").exists() and (folder / "last.ckpt").exists()  # the old one intact
    assert "resumed from epoch 1" in repro(repo)
    assert_intact(repo)


def test_kill_during_validation(repo):
    set_epochs(repo, 5)
    killed_repro(repo, "validation", TARGET)
    assert "resumed from epoch 1" in repro(repo)
    assert_intact(repo)


def test_kill_during_evaluate(repo):
    append_comment(repo, "src/dlforge/tasks/base.py")  # evaluate (and register) must re-run
    killed_repro(repo, "evaluate", TARGET)
    assert list((repo / f"reports/{UC}").glob(".plots.*.tmp")), "the kill should have caught the plots half-written"
    out = repro(repo)
    assert f"evaluate@{UC}" in out
    assert_intact(repo)


def test_kill_in_register_between_registering_and_moving_aliases(repo):
    client = MlflowClient(f"sqlite:///{repo}/mlflow.db")
    before = len(client.search_model_versions(f"name='{UC}'"))
    experiment = repo / f"conf/experiment/{UC}.yaml"  # a gate change: register must re-run
    experiment.write_text(experiment.read_text().replace("  gate:\n", "  gate:\n    confidence: 0.9\n", 1))
    killed_repro(repo, "register_before_alias", TARGET)
    left = client.search_model_versions(f"name='{UC}'")
    assert len(left) == before + 1
    orphan = max(left, key=lambda v: int(v.version))
    assert orphan.tags.get("dlforge.gate.applied") is None  # registered, aliases not moved yet
    out = repro(repo)
    assert f"finishing {UC} v{orphan.version}" in out
    assert len(client.search_model_versions(f"name='{UC}'")) == before + 1  # finished, not registered again
    assert int(client.get_model_version_by_alias(UC, "challenger").version) == int(orphan.version)
    assert_intact(repo)


def test_a_code_edit_after_a_kill_trains_afresh_and_no_edit_resumes(repo):
    """The resume key hashes the code the train stage imports (dlforge.code_deps). The stages run the
    copy's own code here (its src/ and root first on the path), so an edit there is an edit to what runs."""
    own = os.pathsep.join([str(repo / "src"), str(repo)])
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}", PYTHONPATH=own)

    def repro_own() -> str:
        done = subprocess.run(["dvc", "repro", TARGET], cwd=repo, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return done.stdout

    set_epochs(repo, 6)
    killed_repro(repo, "mid_epoch", TARGET, pythonpath=own)
    assert "resumed from epoch 1" in repro_own()  # no edit: the same code resumes
    assert_intact(repo)

    set_epochs(repo, 7)
    killed_repro(repo, "mid_epoch", TARGET, pythonpath=own)
    [killed] = (repo / "checkpoints" / UC).iterdir()
    append_comment(repo, "src/dlforge/models/nets/wide_deep.py")  # the network's module, as in issue 25
    out = repro_own()
    assert "resumed from epoch" not in out  # an edit: trained afresh
    assert [p.name for p in (repo / "checkpoints" / UC).iterdir()] == [
        killed.name
    ]  # only the old code's folder is left
    shutil.rmtree(repo / "checkpoints")
    assert_intact(repo)
