"""DVCLive's Lightning logger, writing its folder whole or not at all (the train stage's DVC curves).

DVCLive writes into its folder as training goes (metrics.json, plots/metrics/*.tsv). This logger
points it at a hidden temp folder beside `dir` and, when Lightning finalizes a successful fit, puts
that folder in place of `dir` (one rename, like dlforge.io.atomic_dir); a failed or interrupted fit
removes it, so the previous run's curves stay as they were. Only global rank 0 has a logger.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from dvclive.lightning import DVCLiveLogger as _DVCLiveLogger


class DVCLiveLogger(_DVCLiveLogger):
    def __init__(self, dir: str, **kwargs: Any):  # noqa: A002 (DVCLive's own argument name)
        self.final = Path(dir)
        self.scratch = self.final.with_name(f".{self.final.name}.tmp")
        shutil.rmtree(self.scratch, ignore_errors=True)  # left by a killed run
        self._failed, self._placed = False, False
        super().__init__(dir=str(self.scratch), **kwargs)

    def finalize(self, status: str) -> None:
        if self._placed:  # already in place: a second finalize must not write a new, partial folder
            return
        super().finalize(status)
        self._failed = self._failed or status != "success"  # Lightning may call "success" again after "failed"
        if not self.scratch.exists():
            return
        if self._failed:
            shutil.rmtree(self.scratch, ignore_errors=True)
            return
        old = self.final.with_name(f".{self.final.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if self.final.exists():
            self.final.rename(old)
        self.scratch.rename(self.final)
        shutil.rmtree(old, ignore_errors=True)
        self._placed = True
