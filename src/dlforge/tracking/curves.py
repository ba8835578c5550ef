"""A fit's curves: one Lightning logger, one file that survives a kill.

    <paths.checkpoints>/<key>/curves.jsonl   one line per Lightning `log_metrics` call:
                                             {"step": …, "time": ms since the epoch, "metrics": {name: value}}

Each call is appended to the file beside the checkpoints (flushed: a SIGKILL loses none), sent to the
MLflow run in one `log_batch` every `write_every_s` seconds and at the end, and, when the fit succeeds,
handed to DVCLive's own Lightning logger to write the DVC curves folder whole (dlforge.io.atomic_dir).
A fit resumed after `n` epochs keeps the file's calls of those epochs (the interrupted epoch runs again
and logs anew), so the MLflow run and the DVC folder get every epoch once: points the run already has
(same key, step and value: sent before the kill) are not sent twice.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from hydra.utils import instantiate
from mlflow.entities import Metric
from pytorch_lightning.loggers.logger import Logger
from pytorch_lightning.utilities import rank_zero_only

from dlforge.io import atomic_dir
from dlforge.tracking import runs


class Curves(Logger):
    """The fit's logger (global rank 0 only). `run`: a started dlforge.tracking.training_run.TrainingRun or
    None; `dvclive`: the DVCLive logger's config (conf/curves/) or None."""

    def __init__(self, path: Path, epochs_done: int, run: Any | None, dvclive: dict[str, Any] | None) -> None:
        super().__init__()
        self.path, self.run, self.dvclive = Path(path), run, dvclive
        self.calls = completed(self.path, epochs_done)  # a killed fit's calls of the epochs its checkpoint holds
        self.sent = 0  # calls[:sent] are in the MLflow run
        self.check_sent = bool(self.calls)  # some of them may be there already
        self.due = time.monotonic() + (run.write_every_s if run else 0)
        self.file: IO[str] | None = None
        self.failed = False

    @property
    def name(self) -> str:
        return "curves"

    @property
    def version(self) -> str:
        return "0"

    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        pass  # the run has the composed config (dlforge.tracking.training_run)

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        values = {k: v if isinstance(v, int) else float(v) for k, v in metrics.items() if not isinstance(v, str)}
        call = {"step": step or 0, "time": int(time.time() * 1000), "metrics": values}
        if self.file is None:
            self.file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (open for the whole fit)
        self.file.write(json.dumps(call) + "\n")
        self.file.flush()  # into the kernel: a SIGKILL after this loses nothing
        self.calls.append(call)
        if self.run and time.monotonic() >= self.due:
            self.send()

    def send(self) -> None:
        """Send the calls the MLflow run has not had, in one `log_batch` (MLflow splits large ones)."""
        client = runs.client(self.run.tracking_uri)
        batch = [
            Metric(re.sub("[^a-zA-Z0-9_/. -]+", "", k), float(v), c["time"], c["step"])
            for c in self.calls[self.sent :]
            for k, v in c["metrics"].items()
        ]
        if self.check_sent:  # resumed: leave out what was sent before the kill
            had = {
                (m.key, m.step, m.value)
                for k in {m.key for m in batch}
                for m in client.get_metric_history(self.run.run_id, k)
            }
            batch = [m for m in batch if (m.key, m.step, m.value) not in had]
            self.check_sent = False
        if batch:
            client.log_batch(self.run.run_id, metrics=batch)
        self.sent = len(self.calls)
        self.due = time.monotonic() + self.run.write_every_s

    @rank_zero_only
    def finalize(self, status: str) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        if self.run and self.sent < len(self.calls):
            self.send()  # a failed fit's too: the run shows how far it got
        self.failed = self.failed or status != "success"  # Lightning may finalize "success" after "failed"
        if self.dvclive and not self.failed:
            self.write_dvc()
            self.dvclive = None  # written: a second finalize changes nothing

    def write_dvc(self) -> None:
        """DVCLive's own Lightning logger, given every call in order, writes the folder (replaced whole)."""
        with atomic_dir(self.dvclive["dir"]) as tmp:
            live = instantiate({**self.dvclive, "dir": str(tmp)})
            for c in self.calls:
                live.log_metrics(c["metrics"], c["step"], sync=False)
            live.finalize("success")


def completed(path: Path, epochs: int) -> list[dict[str, Any]]:
    """The file's calls of the first `epochs` epochs, in order; the file is rewritten to hold just those.

    Lightning adds the epoch to every call (`metrics["epoch"]`). A last line cut short can only be the write
    a kill interrupted, in the epoch that runs again, so it goes with that epoch."""
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
            raise ValueError(f"{path}:{number}: not a JSON line of the curves file") from None
        if call["metrics"].get("epoch", -1) < epochs:
            calls.append(call)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(c) + "\n" for c in calls), encoding="utf-8")
    os.replace(tmp, path)
    return calls
