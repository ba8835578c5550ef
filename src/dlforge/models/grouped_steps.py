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

Plain steps. With the steps grouped, the next profile (py-spy, 2026-12-06, same command, 30 epochs)
put Lightning's wrappers around each mini-batch's maths at ~15 % of the fit: `manual_backward` runs
the precision plugin's pre/post-backward hooks over every callback (~40 % of its time), and
`LightningOptimizer.step` the closure wrapper, the `on_before_optimizer_step` hooks and a profiler
context. Where none of that can do anything — one process, a precision plugin without a gradient
scaler, and no callback or module overriding the backward and optimiser-step hooks — a mini-batch
calls `loss.backward()` and the torch optimiser's `step()` directly and only tells Lightning's
progress tracker that an optimiser step happened (`trainer.global_step` counts as before). Anything
else (DDP, fp16 with a scaler, a callback that looks at gradients) keeps Lightning's calls.

Group size. Timing the phases of credit_default's epoch in the stage (2026-12-06, a callback taking
`perf_counter` at each batch and validation hook, 25 epochs, median): the time between Lightning
steps (the data fetcher, every callback's batch hooks, the logger connector) fell from 5.1 to 3.5 ms
an epoch going from 16 to 64 mini-batches a step. Past the group's own mini-batches (indexed as the
hand loop indexes them, ~10 µs each), a Lightning step still costs ~0.9 ms of hooks and bookkeeping
(2026-12-06, perf_counter around the epoch loop's `advance` and the training step, credit_default:
2.9 ms for its 2 steps of 64), so `train.batches_per_step` defaults to 128: credit_default's 110
mini-batches and movielens' 69 take one step an epoch, MNIST's 469 four. A group holds its
mini-batches' rows (for MNIST's 128 images of 128, 50 MB).
Timed in the same process over the same groups, alternating, these steps cost within a few per
cent of the bare loop (forward, loss, backward, `step`): 56-65 ms against 56-71 ms an epoch over
three runs (it was +4 % with groups of 16 and Lightning's zero_grad wrapper).
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

    def on_train_start(self) -> None:
        self._plain = plain_steps_apply(self.trainer, self)

    def on_train_epoch_start(self) -> None:
        self._minibatch = 0  # index of the next mini-batch in this epoch

    def training_step(self, group: list[Any], group_idx: int) -> dict[str, Any]:
        opt = self.optimizers()
        torch_opt = opt.optimizer
        losses = []
        for batch in group:
            if self._plain:
                torch_opt.zero_grad()
                loss = self._step(batch, "train")
                loss.backward()
                opt._on_before_step()  # Lightning's progress tracker: what LightningOptimizer.step does around the step
                torch_opt.step()
                opt._on_after_step()
            else:
                opt.zero_grad()
                loss = self._step(batch, "train")
                self.manual_backward(loss)
                opt.step()
            losses.append(loss.detach())
        first = self._minibatch
        self._minibatch = first + len(group)
        finite = torch.stack(losses).isfinite()  # one check a group: one a mini-batch cost ~3 % of a small epoch
        if bool(finite.all()):
            return {"loss": losses[-1], "batch": self._minibatch - 1}
        bad = int((~finite).nonzero()[0])
        return {"loss": losses[bad], "batch": first + bad}


# The hooks Lightning runs around a manual backward and optimiser step (besides the precision plugin's own).
STEP_HOOKS = ("on_before_backward", "on_after_backward", "on_before_optimizer_step")


def plain_steps_apply(trainer: Any, module: Any) -> bool:
    """True when Lightning's calls around backward and the optimiser step would do nothing but bookkeeping."""
    from pytorch_lightning.callbacks import Callback
    from pytorch_lightning.core.module import LightningModule
    from pytorch_lightning.plugins.precision import MixedPrecision, Precision
    from pytorch_lightning.strategies import SingleDeviceStrategy

    precision = trainer.precision_plugin
    return (
        type(trainer.strategy) is SingleDeviceStrategy
        and type(precision) in (Precision, MixedPrecision)
        and getattr(precision, "scaler", None) is None
        and not any(getattr(type(module), h) is not getattr(LightningModule, h) for h in (*STEP_HOOKS, "backward"))
        and not any(getattr(type(c), h) is not getattr(Callback, h) for c in trainer.callbacks for h in STEP_HOOKS)
    )
