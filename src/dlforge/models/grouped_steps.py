"""Several mini-batches per Lightning step: the same optimiser steps at a fraction of Lightning's cost.

Profiling the credit_default train stage (py-spy, 2026-12-02, 1 torch thread: `py-spy record -r 250
-f raw -- python -m pipelines.train experiment=credit_default train.threads=1`) put Lightning's own
per-step work (the automatic-optimisation closure, every callback's batch hooks, the data fetcher,
the logger connector) at ~0.5 ms a step, more than the ~0.4 ms of the network's forward, backward
and AdamW step on a 64-row batch. So the modules run `train.batches_per_step` mini-batches in one
Lightning step (manual optimisation): for each mini-batch, in order, zero the gradients, forward,
backward, optimiser step. The mini-batches, their order and the optimiser steps are exactly those of
one mini-batch per step, so the weights and the curves are the same (tests/test_grouped_steps.py);
`trainer.global_step` still counts optimiser steps. What changes is what Lightning counts as a batch:
the progress bar and `trainer.limit_train_batches` count steps of that many mini-batches.

Under DDP a step is one mini-batch: the sub-forwards would bypass the DDP wrapper, whose reducer
expects one forward per backward (InMemoryDataModule groups by 1 when world_size > 1).
"""

from __future__ import annotations

from typing import Any

import torch


class GroupedSteps:
    """Mixin for a LightningModule whose `_step(batch, "train")` returns the loss of one mini-batch.

    A training batch is a list of mini-batches (dlforge.data.batches.StepGroups). The step stops at
    the first mini-batch whose loss is not finite and returns it with that mini-batch's index in the
    epoch, for dlforge.models.finite_loss.FiniteLoss to report.
    """

    automatic_optimization = False
    steps_over_groups = True  # InMemoryDataModule hands such a module lists of mini-batches

    def on_train_epoch_start(self) -> None:
        self._minibatch = 0  # index of the next mini-batch in this epoch

    def training_step(self, group: list[Any], group_idx: int) -> dict[str, Any]:
        opt = self.optimizers()
        for batch in group:
            opt.zero_grad()
            loss = self._step(batch, "train")
            self.manual_backward(loss)
            opt.step()
            self._minibatch += 1
            if not torch.isfinite(loss):
                break
        return {"loss": loss.detach(), "batch": self._minibatch - 1}
