"""Several mini-batches per Lightning step: the same optimiser steps at a fraction of Lightning's cost.

Lightning's own work per training step (the loop, every callback's batch hooks, the logger connector)
costs more than a small network's forward, backward and optimiser step. So the modules run
`train.batches_per_step` mini-batches in one step with manual optimisation (Lightning's public API):
for each mini-batch, in order, zero the gradients, forward, backward, optimiser step. The mini-batches,
their order and the optimiser steps are those of one mini-batch per step, so the weights and curves
are the same (tests/unit/models/test_grouped_steps.py) and `trainer.global_step` still counts optimiser steps; the
progress bar and `trainer.limit_train_batches` count groups. Under DDP a step is one mini-batch (the
DDP wrapper expects one forward per backward). Measurements: docs/benchmarks.md.
"""

from __future__ import annotations

from typing import Any

import torch


class GroupedSteps:
    """Mixin for a LightningModule whose `_step(batch, "train")` returns the loss of one mini-batch.

    A training batch is a list of mini-batches (dlforge.data.batches.StepGroups). The step returns
    the first loss of the group that is not finite, with that mini-batch's index in the epoch, for
    dlforge.models.finite_loss.FiniteLoss to report (it stops training there, so the group's later
    steps, taken from non-finite weights, never reach an output); else the group's last loss.
    """

    automatic_optimization = False
    steps_over_groups = True  # InMemoryDataModule hands such a module lists of mini-batches

    def on_train_epoch_start(self) -> None:
        self._minibatch = 0  # index of the next mini-batch in this epoch

    def training_step(self, group: list[Any], group_idx: int) -> dict[str, Any]:
        opt = self.optimizers()
        losses = []
        for batch in group:
            opt.zero_grad()
            loss = self._step(batch, "train")
            self.manual_backward(loss)
            opt.step()
            losses.append(loss.detach())
        first = self._minibatch
        self._minibatch = first + len(group)
        finite = torch.stack(losses).isfinite()  # one check a group, not one a mini-batch
        if bool(finite.all()):
            return {"loss": losses[-1], "batch": self._minibatch - 1}
        bad = int((~finite).nonzero()[0])
        return {"loss": losses[bad], "batch": first + bad}
