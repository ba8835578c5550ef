"""Every curve point of a fit, appended to a file beside its checkpoints, so that a kill loses none.

    <paths.checkpoints>/<key>/curves.jsonl   one line per Lightning `log_metrics` call:
                                             {"step": global step, "time": ms since epoch, "metrics": {name: value}}

The MLflow and DVCLive loggers keep their points in memory and write them in batches (MLflow every
few seconds, DVCLive when the fit ends: dlforge.tracking.curves, dlforge.tracking.dvclive_logger).
A checkpoint cannot carry those pending points: Lightning logs an epoch's training metrics after
the epoch's checkpoint is written. So `CurveJournal`, a third logger, appends each call to this file
as it happens (one small write, no fsync: a killed process's writes are in the file; a crashed
machine's last lines may not be). A fit resumed from a checkpoint after `n` epochs reads the calls
of those epochs back (`completed`) and hands them to the loggers' `replay`, with the time each was
first logged: the MLflow logger leaves out the points its run already has (written before the kill),
and DVCLive's folder, written whole at the end, gets every epoch. The calls of the
epoch the kill interrupted are dropped from the file; that epoch runs again and logs them anew. The
file goes with its checkpoint folder when the train stage finishes.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from pytorch_lightning.loggers.logger import Logger
from pytorch_lightning.utilities import rank_zero_only


class CurveJournal(Logger):
    """A Lightning logger appending each `log_metrics` call to `path` (global rank 0 only, like every logger)."""

    def __init__(self, path: str | Path):
        super().__init__()
        self.path = Path(path)
        self._file: IO[str] | None = None

    @property
    def name(self) -> str:
        return "curve_journal"

    @property
    def version(self) -> str:
        return "0"

    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        pass  # the MLflow run has the config; the journal only needs the curves

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (open for the whole fit)
        values = {k: v if isinstance(v, int) else float(v) for k, v in metrics.items() if not isinstance(v, str)}
        self._file.write(json.dumps({"step": step, "time": int(time.time() * 1000), "metrics": values}) + "\n")
        self._file.flush()  # into the kernel: a SIGKILL after this loses nothing

    @rank_zero_only
    def finalize(self, status: str) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def completed(path: str | Path, epochs: int) -> list[dict[str, Any]]:
    """The journal's calls of the first `epochs` epochs, in order; the file is rewritten to hold just those.

    Lightning adds the epoch to every call it makes (`metrics["epoch"]`); a call without one (logged with
    an explicit step) is kept. A last line cut short can only be the write a kill interrupted, in the
    epoch that runs again, so it is dropped with that epoch."""
    path = Path(path)
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    calls = []
    for number, line in enumerate(lines, 1):
        try:
            call = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                break
            raise ValueError(f"{path}:{number}: not a JSON line of the curve journal") from None
        if call["metrics"].get("epoch", -1) < epochs:
            calls.append(call)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(c) + "\n" for c in calls), encoding="utf-8")
    os.replace(tmp, path)
    return calls
