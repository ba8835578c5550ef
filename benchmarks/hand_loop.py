"""The hand-written baseline of the training-overhead benchmark: the maths of an epoch and nothing else.

`HandLoop(module, train, val, batch_size, eval_batch_size, seed)` holds a copy of the module (the same
network, the same weights at the start of the fit), a fresh optimiser from the module's own
`configure_optimizers`, and `TensorBatches` over the same prepared tensors with the same batch sizes
and seed. `epoch()` runs what someone would write without Lightning: every training batch (forward,
the module's loss, backward, optimiser step), then one validation pass (forward + loss, averaged).
No metrics objects, no logging, no checkpoint: whatever the train stage spends on top of this is
overhead. benchmarks.epoch_timer.EpochTimer(hand=True) runs one such epoch before each epoch of the
real train stage, in the same process (benchmarks/overhead.py says why).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from dlforge.data.batches import TensorBatches


def loss_fn(module: nn.Module) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss the module's training_step computes (same function, no metrics, no self.log)."""
    from dlforge.models.classifier import Classifier
    from dlforge.models.regressor import Regressor

    if isinstance(module, Classifier):
        return lambda x, y: nn.functional.cross_entropy(module(x), y)
    if isinstance(module, Regressor):
        return lambda x, y: nn.functional.mse_loss(module(x), y.float())
    raise TypeError(
        f"benchmarks/hand_loop.py: no hand loop for {type(module).__name__} (Classifier or Regressor expected)"
    )


class HandLoop:
    def __init__(self, module: nn.Module, train: tuple, val: tuple, batch_size: int, eval_batch_size: int, seed: int):
        self.module = copy.deepcopy(module)  # a LightningModule leaves its trainer out of a copy
        self.optimizer = self.module.configure_optimizers()
        self.loss = loss_fn(self.module)
        self.train = TensorBatches(*train, batch_size, True, seed)
        self.val = TensorBatches(*val, eval_batch_size, False, seed)
        self.val_rows = len(val[1])

    def epoch(self) -> float:
        """One epoch; the mean validation loss."""
        module, optimizer, loss = self.module, self.optimizer, self.loss
        module.train()
        for x, y in self.train:
            optimizer.zero_grad()
            loss(x, y).backward()
            optimizer.step()
        module.eval()
        with torch.no_grad():
            return sum(float(loss(x, y)) * len(y) for x, y in self.val) / self.val_rows
