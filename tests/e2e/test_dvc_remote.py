"""DVC remote: outputs pushed from one clone are pulled into a fresh `git clone` and need no re-run."""

from __future__ import annotations

import re

import pytest

from conftest import copy_repo, git_commit, sh
from dlforge.io import tree_hash

pytestmark = pytest.mark.e2e


def test_push_then_pull_into_a_fresh_clone(tmp_path):
    origin, remote, clone = tmp_path / "origin", tmp_path / "remote", tmp_path / "clone"
    origin.mkdir()
    copy_repo(origin)
    sh(["dvc", "remote", "add", "-d", "storage", str(remote)], origin)  # a real remote: a folder any clone can reach
    sh(["dvc", "repro", "prepare@digits"], origin)
    git_commit(origin, "prepared digits")
    assert re.search(r"\d+ files pushed", sh(["dvc", "push", "prepare@digits"], origin).stdout) and any(
        remote.rglob("*")
    )

    sh(["git", "clone", "-q", str(origin), str(clone)], tmp_path)
    assert not (clone / "data/prepared/digits").exists()
    sh(["dvc", "pull", "prepare@digits"], clone)
    assert tree_hash(clone / "data/prepared/digits") == tree_hash(origin / "data/prepared/digits")
    assert "Stage 'prepare@digits' didn't change, skipping" in sh(["dvc", "repro", "prepare@digits"], clone).stdout
    assert "Cache and remote 'storage' are in sync" in sh(["dvc", "status", "--cloud", "prepare@digits"], clone).stdout
