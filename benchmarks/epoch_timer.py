"""A callback that times training epochs on global rank 0 and writes them to a JSON file.

An epoch runs from one `on_train_epoch_start` to the next (the last one to `on_train_end`), so it
includes everything the trainer does per epoch: the training batches, the validation pass,
checkpointing, early stopping, and the per-epoch metrics going to the logger. `epoch_cpu_s` is the
CPU time of the whole process (all its threads) over the same spans: it counts background threads
(MLflow's system-metrics sampler, the progress bar).

`hand=True` (benchmarks/overhead.py): before each epoch of the fit, one epoch of
benchmarks.hand_loop.HandLoop over the same tensors runs and is timed on its own (`hand_s`,
`hand_cpu_s`); the fit's epoch is timed from the end of it, so neither side's time holds the other's.
"""

from __future__ import annotations

import json
import time

import pytorch_lightning as pl


class EpochTimer(pl.Callback):
    def __init__(self, out: str, hand: bool = False):
        self.out, self.hand = out, hand
        self.start: tuple[float, float] | None = None
        self.times, self.cpu, self.hand_times, self.hand_cpu = [], [], [], []
        self.loop = None

    @staticmethod
    def _now() -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    def _lap(self) -> None:
        now = self._now()
        if self.start is not None:
            self.times.append(now[0] - self.start[0])
            self.cpu.append(now[1] - self.start[1])
        self.start = now

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.hand:
            from benchmarks.hand_loop import HandLoop

            dm = trainer.datamodule
            self.loop = HandLoop(pl_module, dm.train, dm.val, dm.batch_size, dm.eval_batch_size, dm.seed)

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._lap()
        if self.loop is not None:
            start = self._now()
            self.loop.epoch()
            self.start = self._now()
            self.hand_times.append(self.start[0] - start[0])
            self.hand_cpu.append(self.start[1] - start[1])

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._lap()

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero:
            rows = len(trainer.datamodule.train[1])
            with open(self.out, "w") as f:
                json.dump(
                    {
                        "epoch_s": self.times,
                        "epoch_cpu_s": self.cpu,
                        "hand_s": self.hand_times,
                        "hand_cpu_s": self.hand_cpu,
                        "rows": rows,
                        "device": _device(trainer),
                        "world_size": trainer.world_size,
                    },
                    f,
                )


def _device(trainer: pl.Trainer) -> str:
    import torch

    if trainer.strategy.root_device.type == "cuda":
        return torch.cuda.get_device_name(trainer.strategy.root_device)
    return f"CPU ({torch.get_num_threads()} threads/process)"
