"""A callback that times training epochs on global rank 0 and writes them to a JSON file.

An epoch runs from one `on_train_epoch_start` to the next (the last one to `on_train_end`), so it
includes everything the trainer does per epoch: the training batches, the validation pass,
checkpointing, early stopping, and the per-epoch metrics going to the logger. `epoch_cpu_s` is the
CPU time of the whole process (all its threads) over the same spans: on a shared machine it is
far steadier than wall time, and it counts background threads (MLflow's system-metrics sampler, the progress bar).
"""

from __future__ import annotations

import json
import time

import pytorch_lightning as pl


class EpochTimer(pl.Callback):
    def __init__(self, out: str):
        self.out, self.starts, self.times, self.cpu = out, [], [], []

    def _lap(self) -> None:
        now = (time.perf_counter(), time.process_time())
        if self.starts:
            self.times.append(now[0] - self.starts[-1][0])
            self.cpu.append(now[1] - self.starts[-1][1])
        self.starts.append(now)

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._lap()

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
