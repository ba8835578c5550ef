"""A progress bar for the fit that redraws on a clock, not on every batch.

Lightning's RichProgressBar reads the metrics and redraws in every batch hook, a visible share of a
short epoch (docs/benchmarks.md) for a picture nobody can read at many epochs a second. This bar shows
one line for the fit (epoch, training batch, elapsed time, the metrics logged with `prog_bar=True`);
a hook only compares the clock with the next redraw, and the line is drawn at most every `refresh_s`
seconds and once more when the fit ends. Into a pipe (a CI log) Rich draws nothing while the fit runs,
and the line stays at the end unless `leave: false`.
"""

from __future__ import annotations

import time
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks.progress import ProgressBar

from dlforge.errors import UserError


class EpochProgressBar(ProgressBar):
    """One line for the whole fit, redrawn at most every `refresh_s` seconds (global rank 0 only)."""

    def __init__(self, refresh_s: float = 0.5, leave: bool = False):
        super().__init__()
        if not refresh_s > 0:
            raise UserError(
                f"config key 'callbacks.progress_bar.refresh_s' (EpochProgressBar): {refresh_s}; "
                "expected a positive number of seconds"
            )
        self.refresh_s, self.leave = refresh_s, leave
        self._enabled, self._progress, self._task = True, None, None
        self._due = 0.0  # time.monotonic() of the next redraw
        self._epochs = 0  # epochs completed (a resumed fit starts at those of its checkpoint)
        self._batch = 0  # training batches done in the current epoch
        self.redraws = 0  # lines drawn so far (tests, and anyone checking what the bar costs)

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self._enabled:
            return
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._epochs = trainer.current_epoch
        self._progress = Progress(
            TextColumn("epoch {task.fields[epochs]}"),
            BarColumn(),
            TextColumn("{task.fields[batch]}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[metrics]}"),
            auto_refresh=False,  # no drawing thread: this callback decides when to draw
            transient=not self.leave,
        )
        total = trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else None  # -1: until stopped
        epochs = f"{self._epochs}/{total}" if total else str(self._epochs)
        self._task = self._progress.add_task("fit", total=total, epochs=epochs, batch="", metrics="")
        self._progress.start()
        self._draw(trainer)

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self._batch = batch_idx + 1
        if self._progress is not None and time.monotonic() >= self._due:
            self._draw(trainer)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._epochs, self._batch = trainer.current_epoch + 1, 0
        if self._progress is not None and time.monotonic() >= self._due:
            self._draw(trainer)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._progress is not None:
            self._draw(trainer)  # the final state, whatever the clock says
            self._stop()

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        self._stop()

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._stop()

    def print(self, *args: Any, **kwargs: Any) -> None:
        if self._progress is not None:
            self._progress.console.print(*args, **kwargs)
        else:
            print(*args, **kwargs)

    def _draw(self, trainer: pl.Trainer) -> None:
        metrics = {k: v for k, v in self.get_metrics(trainer, trainer.lightning_module).items() if k != "v_num"}
        shown = " ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items())
        total = self._progress.tasks[0].total
        epochs = f"{self._epochs}/{total:.0f}" if total else str(self._epochs)
        batch = f"batch {self._batch}/{self.total_train_batches}" if self._batch else ""
        self._progress.update(self._task, completed=self._epochs, epochs=epochs, batch=batch, metrics=shown)
        self._progress.refresh()
        self.redraws += 1
        self._due = time.monotonic() + self.refresh_s

    def _stop(self) -> None:
        progress, self._progress = self._progress, None
        if progress is not None:
            progress.stop()
