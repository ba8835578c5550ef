"""Lineage tags: which code (git commit, dirty flag) and which data (content hash) made a run."""

from __future__ import annotations

import subprocess
from pathlib import Path

from dlforge import keys as K
from dlforge.io import tree_hash


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def tags(prepared: str | Path) -> dict[str, str]:
    """Tags for a run: git commit, dirty flag and the prepared-data hash.

    Dirty means a tracked file differs from the commit; dvc.lock is left out because `dvc repro`
    rewrites it between stages of the same run.
    """
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)dvc.lock")
    return {
        K.GIT_COMMIT: commit or "unknown",
        K.GIT_DIRTY: "unknown" if status is None else str(bool(status)).lower(),
        K.DATA_HASH: tree_hash(prepared),
    }
