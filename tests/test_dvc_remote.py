"""DVC remote: outputs pushed from one clone are pulled into a fresh `git clone` and need no re-run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from dlforge.io import tree_hash

pytestmark = pytest.mark.e2e
GIT = ["git", "-c", "user.name=dlforge tests", "-c", "user.email=tests@dlforge.invalid"]


def sh(cmd: list[str], cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"{' '.join(cmd)} ({r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    return r.stdout


def test_push_then_pull_into_a_fresh_clone(tmp_path):
    origin, remote, clone = tmp_path / "origin", tmp_path / "remote", tmp_path / "clone"
    files = sh(["git", "ls-files", "--cached", "--others", "--exclude-standard"], ROOT).split()
    for f in files:
        if (ROOT / f).is_file():
            (origin / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, origin / f)
    sh(["git", "init", "-q", "-b", "main"], origin)
    sh(["dvc", "remote", "add", "-d", "storage", str(remote)], origin)  # a real remote: a folder any clone can reach
    sh(["dvc", "repro", "prepare@digits"], origin)
    sh([*GIT, "add", "-A"], origin)
    sh([*GIT, "commit", "-qm", "prepared digits"], origin)
    assert re.search(r"\d+ files pushed", sh(["dvc", "push", "prepare@digits"], origin)) and any(remote.rglob("*"))

    sh(["git", "clone", "-q", str(origin), str(clone)], tmp_path)
    assert not (clone / "data/prepared/digits").exists()
    sh(["dvc", "pull", "prepare@digits"], clone)
    assert tree_hash(clone / "data/prepared/digits") == tree_hash(origin / "data/prepared/digits")
    assert "Stage 'prepare@digits' didn't change, skipping" in sh(["dvc", "repro", "prepare@digits"], clone)
    assert "Cache and remote 'storage' are in sync" in sh(["dvc", "status", "--cloud", "prepare@digits"], clone)
