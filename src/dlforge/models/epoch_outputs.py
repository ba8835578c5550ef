"""What a training or validation epoch saw, kept at the cost of a list append per step.

Profiling the train stage (docs/benchmarks.md) showed that calling `self.log` and updating
torchmetrics objects on every step cost more than the network's own forward, backward and
optimiser step on the small use cases. The modules therefore only append each step's detached
outputs here and, at the epoch's end, update their torchmetrics objects once with everything the
epoch saw and log once. The curves are the same (one point per epoch: the mean loss over the
epoch's rows, the metrics over all its rows); under DDP the loss is averaged over ranks
(`sync_dist`) and the metric objects reduce their states across ranks, as before.
"""

from __future__ import annotations

import torch


class EpochOutputs:
    """Row-weighted loss sum and the (prediction, target) pairs of one stage's current epoch."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.loss_sum: torch.Tensor | float = 0.0
        self.rows = 0
        self.outputs: list[tuple[torch.Tensor, torch.Tensor]] = []

    def add(self, loss: torch.Tensor, pred: torch.Tensor, target: torch.Tensor) -> None:
        n = len(target)
        self.loss_sum = self.loss_sum + loss.detach() * n
        self.rows += n
        self.outputs.append((pred.detach(), target))

    def flush(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
        """(mean loss, all predictions, all targets) of the epoch, then empty; None if it saw no rows."""
        if not self.rows:
            return None
        preds, targets = zip(*self.outputs)
        result = (self.loss_sum / self.rows, torch.cat(preds), torch.cat(targets))
        self.reset()
        return result
