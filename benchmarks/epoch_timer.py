"""A callback that times training epochs on global rank 0 and writes them to a JSON file."""

from __future__ import annotations

import json
import time

import pytorch_lightning as pl


class EpochTimer(pl.Callback):
    def __init__(self, out: str):
        self.out, self.times, self._start = out, [], 0.0

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.times.append(time.perf_counter() - self._start)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero:
            rows = len(trainer.datamodule.train[1])
            with open(self.out, "w") as f:
                json.dump(
                    {"epoch_s": self.times, "rows": rows, "device": _device(trainer), "world_size": trainer.world_size},
                    f,
                )


def _device(trainer: pl.Trainer) -> str:
    import torch

    if trainer.strategy.root_device.type == "cuda":
        return torch.cuda.get_device_name(trainer.strategy.root_device)
    return f"CPU ({torch.get_num_threads()} threads/process)"
