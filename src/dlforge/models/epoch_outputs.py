"""What a training or validation epoch saw, kept at the cost of a list append per step.

Calling `self.log` and updating torchmetrics objects on every step costs more than a small network's
own step (docs/benchmarks.md). The modules therefore only append each step's detached outputs here
and, at the epoch's end, update their torchmetrics objects once with everything the epoch saw and log
once. The curves are the same (one point per epoch: the mean loss over the
epoch's rows, the metrics over all its rows); under DDP the loss is averaged over ranks
(`sync_dist`) and the metric objects reduce their states across ranks, as before.
"""

from __future__ import annotations

import torch
import torchmetrics


class EpochOutputs:
    """The losses and (prediction, target) pairs of one stage's current epoch."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.losses: list[torch.Tensor] = []
        self.outputs: list[tuple[torch.Tensor, torch.Tensor]] = []

    def add(self, loss: torch.Tensor, pred: torch.Tensor, target: torch.Tensor) -> None:
        """Two list appends: the row-weighted loss is summed once, at the epoch's end (no tensor op per step)."""
        self.losses.append(loss.detach())
        self.outputs.append((pred.detach(), target))

    def flush(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
        """(mean loss over rows, all predictions, all targets) of the epoch, then empty; None if it saw no rows."""
        if not self.outputs:
            return None
        preds, targets = zip(*self.outputs)
        rows = torch.tensor([len(t) for t in targets], dtype=self.losses[0].dtype, device=self.losses[0].device)
        result = ((torch.stack(self.losses) * rows).sum() / rows.sum(), torch.cat(preds), torch.cat(targets))
        self.reset()
        return result


def epoch_values(
    metrics: torchmetrics.Metric | torchmetrics.MetricCollection,
) -> torch.Tensor | dict[str, torch.Tensor]:
    """The metrics over everything they were updated with this epoch (states gathered across DDP ranks, which
    all call this), then reset: what Lightning does after the epoch-end hook for a logged metric object.
    Logging the values, plain tensors, is cheaper: Lightning walks a logged metric object with all its states."""
    values = metrics.compute()
    metrics.reset()
    return values
