"""DVCLive's Lightning logger, writing its folder whole or not at all (the train stage's DVC curves).

DVCLive writes into its folder as training goes (metrics.json, plots/metrics/*.tsv). This logger
points it at a hidden temp folder beside `dir` and, when Lightning finalizes a successful fit, puts
that folder in place of `dir` (one rename, like dlforge.io.atomic_dir); a failed or interrupted fit
removes it, so the previous run's curves stay as they were. Only global rank 0 has a logger.

Since the folder only appears when the fit ends, writing into the hidden one as training goes
serves nobody, and it cost ~1.8 % of the credit_default fit (py-spy, 2026-12-06, `py-spy record -f
raw -- python -m pipelines.train experiment=credit_default train.threads=1`: each call appends a row
to every metric's TSV and, at Lightning's sync points, rewrites metrics.json; an earlier profile had
DVCLive's own sync decision, which reads the source of every frame on the stack, at ~35 %). So
`log_metrics` keeps the calls (`pending`) and a successful `finalize` hands them to DVCLive in order:
the same rows at the same steps, then one metrics.json with the last values (DVCLive's `end`). A fit
resumed after a kill `replay`s the calls of the epochs before the kill first (dlforge.tracking.journal),
so its folder has every epoch's curves.

On a sync DVCLive also re-reads all its TSV files to build an update for DVC Studio, even when no
Studio is configured and the update is then dropped (`Live.post_data_to_studio`). `StudioOptionalLive`
skips that work when DVCLive itself has decided not to send data to Studio.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dvclive import Live
from dvclive.fabric import DVCLiveLogger as _FabricLogger
from dvclive.lightning import DVCLiveLogger as _DVCLiveLogger
from pytorch_lightning.loggers.logger import rank_zero_experiment
from pytorch_lightning.utilities import rank_zero_only


class StudioOptionalLive(Live):
    """DVCLive's Live, building Studio updates only when it will send them."""

    def post_data_to_studio(self) -> None:
        if "data" not in self._studio_events_to_skip:  # DVCLive's own decision (Live._init_studio)
            super().post_data_to_studio()


class DVCLiveLogger(_DVCLiveLogger):
    def __init__(self, dir: str, **kwargs: Any):  # noqa: A002 (DVCLive's own argument name)
        self.final = Path(dir)
        self.scratch = self.final.with_name(f".{self.final.name}.tmp")
        shutil.rmtree(self.scratch, ignore_errors=True)  # left by a killed run
        self._failed, self._placed = False, False
        self.pending: list[list[Any]] = []  # [step, {metric: value}] per log_metrics call, in order
        super().__init__(dir=str(self.scratch), **kwargs)

    @property
    @rank_zero_experiment
    def experiment(self) -> Live:
        if self._experiment is None:
            self._experiment = StudioOptionalLive(**self._kwargs)
        return self._experiment

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None, sync: bool | None = False) -> None:
        self.pending.append([step, {k: v.item() if hasattr(v, "item") else v for k, v in metrics.items()}])

    def replay(self, calls: list[dict[str, Any]]) -> None:
        """Queue a resumed fit's earlier calls (dlforge.tracking.journal) before its own."""
        self.pending[:0] = [[c["step"], dict(c["metrics"])] for c in calls]

    def write(self) -> None:
        """Hand the pending calls to DVCLive in order: it appends their TSV rows (`finalize` writes the summary)."""
        pending, self.pending = self.pending, []
        for step, values in pending:
            _FabricLogger.log_metrics(self, values, step, sync=False)

    def finalize(self, status: str) -> None:
        if self._placed:  # already in place: a second finalize must not write a new, partial folder
            return
        if status == "success" and not self._failed:
            self.write()
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
