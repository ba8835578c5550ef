"""Multiclass AUROC for all classes in one pass: torchmetrics' metric, without its loop over classes.

torchmetrics' MulticlassAUROC (exact, `thresholds=None`) builds one ROC curve per class in a Python
loop, a visible share of a small epoch (docs/benchmarks.md). The same number is the Mann-Whitney
statistic of each class against the rest (a tie between a positive and a negative counts half, as the
curve's diagonal through tied scores does): one sort of the (classes, rows) score matrix and a few
cumulative sums. Only `compute` changes: the states, `update` and the input handling are torchmetrics'.
As there, a class with no positive or no negative row scores 0 in the macro mean (tests/unit/models/test_auroc.py).
"""

from __future__ import annotations

from typing import Any

import torch
from torchmetrics.classification import MulticlassAUROC as _TorchmetricsMulticlassAUROC
from torchmetrics.utilities.data import dim_zero_cat


def one_vs_rest(scores: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """AUROC of each row of `scores` (classes, n) against the labels `positive` (classes, n, bool); NaN
    where a row has no positive or no negative label."""
    n = scores.shape[1]
    sorted_scores, order = scores.sort(dim=1)
    pos = positive.gather(1, order)
    negatives = (~pos).to(torch.float64).cumsum(1)  # negatives at or below each position
    index = torch.arange(n, device=scores.device).expand_as(order)
    first = torch.ones_like(pos)  # the first position of a run of equal scores
    first[:, 1:] = sorted_scores[:, 1:] != sorted_scores[:, :-1]
    last = torch.ones_like(pos)  # the last position of such a run
    last[:, :-1] = first[:, 1:]
    start = torch.where(first, index, 0).cummax(1).values
    end = torch.where(last, index, n - 1).flip(1).cummin(1).values.flip(1)
    below = torch.where(start > 0, negatives.gather(1, (start - 1).clamp(min=0)), 0.0)  # negatives scored lower
    tied = negatives.gather(1, end) - below  # negatives with the same score
    n_pos = pos.sum(1).to(torch.float64)
    return ((below + 0.5 * tied) * pos).sum(1) / (n_pos * (n - n_pos))


class MulticlassAUROC(_TorchmetricsMulticlassAUROC):
    """torchmetrics' exact macro one-vs-rest AUROC, computed in one pass over all classes."""

    def __init__(self, num_classes: int, **kwargs: Any):
        super().__init__(num_classes=num_classes, average="macro", thresholds=None, **kwargs)

    def compute(self) -> torch.Tensor:
        preds, target = dim_zero_cat(self.preds), dim_zero_cat(self.target)
        classes = torch.arange(self.num_classes, device=target.device)
        per_class = one_vs_rest(preds.T, target[None, :] == classes[:, None])
        return per_class.nan_to_num(0.0).mean().to(preds.dtype)  # torchmetrics: 0 for a class without both kinds
