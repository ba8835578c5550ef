"""`dlforge lineage --rebuild`: a version's data re-made from its recorded commit and config, in a real git copy.

The first rebuild runs through the installed console script; the other calls run `dlforge.cli.main(argv)`
in-process (the function the script runs; a rebuild still runs the stages of that commit in a subprocess).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import copy_repo, empty_mlflow_db, tiny_overrides, write_tiny_csv

pytestmark = pytest.mark.e2e  # a git copy of the repo, the four stages and the rebuilds as real processes
BIN = Path(sys.executable).parent


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict:
    """A clean git copy of the repo that trains and registers the tiny use case with its own code."""
    tmp = tmp_path_factory.mktemp("lineage")
    repo, csv, uri = tmp / "repo", write_tiny_csv(tmp / "tiny.csv"), f"sqlite:///{tmp}/mlflow.db"
    repo.mkdir()
    copy_repo(repo)
    empty_mlflow_db(tmp / "mlflow.db")
    env = {"MLFLOW_TRACKING_URI": uri, "PYTHONPATH": f"{repo / 'src'}{os.pathsep}{repo}"}
    for stage in ("prepare", "train", "evaluate", "register"):
        r = _run([sys.executable, "-m", f"pipelines.{stage}", *tiny_overrides(csv)], repo, env)
        assert r.returncode == 0, f"{stage}: {r.stderr[-2000:]}"
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    return {"repo": repo, "csv": csv, "uri": uri, "head": head, "tmp": tmp}


def lineage(made: dict, *args: str) -> subprocess.CompletedProcess:
    return _run([str(BIN / "dlforge"), "lineage", "tiny", *args], made["tmp"], {"MLFLOW_TRACKING_URI": made["uri"]})


def lineage_here(made: dict, capsys, *args: str) -> tuple[int, str, str]:
    """`dlforge lineage tiny args…` in this process, run from the same folder: exit code, stdout, stderr."""
    from dlforge.cli import main

    capsys.readouterr()
    cwd = os.getcwd()
    os.chdir(made["tmp"])
    try:
        code = main(["--tracking-uri", made["uri"], "lineage", "tiny", *args])
    except SystemExit as e:  # `NOT reproduced` exits 1
        code = e.code
    finally:
        os.chdir(cwd)
    out, err = capsys.readouterr()
    return code, out, err


def test_lineage_names_the_commit_and_the_data(made, capsys):
    code, out, err = lineage_here(made, capsys, "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["git_commit"] == made["head"] and info["git_dirty"] == "false" and len(info["data_hash"]) == 64
    assert "reproduced" not in info


def test_rebuild_reproduces_the_data_then_notices_when_the_source_changed(made, capsys):
    r = lineage(made, "--rebuild", "--repo", str(made["repo"]), "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["reproduced"] is True and info["rebuilt_hash"] == info["data_hash"]
    assert info["metrics_differ"] == {} and info["rebuilt_metrics"] == info["test_metrics"]  # equal on CPU, same seed
    assert set(info["test_metrics"]) >= {"accuracy", "pr_auc", "roc_auc"}

    df = pd.read_csv(made["csv"])
    df.loc[0, "x1"] += 1.0  # the raw data moved on since the model was trained
    df.to_csv(made["csv"], index=False)
    code, out, err = lineage_here(made, capsys, "--rebuild", "--repo", str(made["repo"]))
    assert code == 1 and "NOT reproduced: rebuilt data hashes to" in out, err


def test_rebuild_from_a_repo_without_the_commit_fails_in_one_line(made, tmp_path, capsys):
    subprocess.run(["git", "init", "-q", str(tmp_path / "other")], check=True)
    code, _, err = lineage_here(made, capsys, "--rebuild", "--repo", str(tmp_path / "other"))
    assert (
        code == 2
        and err.strip()
        == f"error: tiny v1: commit {made['head'][:10]} is not in the repository '{tmp_path / 'other'}' (fetch it, or pass --repo)"
    )
