"""Under DDP, give every rank the MLflow run id that global rank 0 created (only rank 0 logs)."""

from __future__ import annotations

import pytorch_lightning as pl
from pytorch_lightning.loggers import MLFlowLogger


class ShareRunId(pl.Callback):
    """Broadcasts rank 0's run id once the process group exists; `run_id` is then the same on all ranks."""

    def __init__(self) -> None:
        self.run_id: str | None = None

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        logger = trainer.logger  # only global rank 0 has one; every rank must join the broadcast
        own = logger.run_id if trainer.is_global_zero and isinstance(logger, MLFlowLogger) else None
        self.run_id = trainer.strategy.broadcast(own, src=0)
