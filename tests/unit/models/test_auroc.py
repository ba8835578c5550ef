"""dlforge.models.auroc.MulticlassAUROC gives torchmetrics' MulticlassAUROC numbers (exact, macro), which
it replaces in the classifier's curves for speed: random scores with many ties, classes missing from the
targets, and more than one update, as an epoch's outputs arrive."""

from __future__ import annotations

import pytest
import torch
import torchmetrics
from sklearn.metrics import roc_auc_score

from dlforge.models.auroc import MulticlassAUROC


def _both(classes: int, updates: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[float, float]:
    ours = MulticlassAUROC(classes, validate_args=False)
    theirs = torchmetrics.AUROC(task="multiclass", num_classes=classes, validate_args=False)
    for preds, target in updates:
        ours.update(preds, target)
        theirs.update(preds, target)
    return float(ours.compute()), float(theirs.compute())


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("classes", "rows"), [(3, 40), (10, 270), (10, 1078)])
def test_same_as_torchmetrics_with_ties(seed: int, classes: int, rows: int) -> None:
    g = torch.Generator().manual_seed(seed)
    target = torch.randint(0, classes, (rows,), generator=g)
    logits = torch.randn(rows, classes, generator=g) + torch.nn.functional.one_hot(target, classes)
    preds = (logits.softmax(-1) * 10).round() / 10  # coarse scores: many ties within every class
    half = rows // 2
    ours, theirs = _both(classes, [(preds[:half], target[:half]), (preds[half:], target[half:])])
    assert ours == pytest.approx(theirs, abs=1e-6)
    # and scikit-learn's AUROC of each class against the rest, averaged
    per_class = [roc_auc_score(target == c, preds[:, c]) for c in range(classes)]
    assert ours == pytest.approx(sum(per_class) / classes, abs=1e-6)


def test_classes_without_positives_or_negatives_score_zero_as_in_torchmetrics() -> None:
    g = torch.Generator().manual_seed(0)
    preds = torch.rand(50, 5, generator=g).softmax(-1)
    target = torch.randint(0, 3, (50,), generator=g)  # classes 3 and 4 never occur
    ours, theirs = _both(5, [(preds, target)])
    assert ours == pytest.approx(theirs, abs=1e-6)
    assert 0 < ours < 0.6 * 1.01  # three classes of five scored, two counted as 0
    ours, theirs = _both(4, [(torch.rand(20, 4, generator=g).softmax(-1), torch.zeros(20, dtype=torch.long))])
    assert ours == theirs == 0.0  # one class only: none has both positives and negatives


def test_perfect_and_reversed_scores() -> None:
    target = torch.arange(4).repeat(5)
    onehot = torch.nn.functional.one_hot(target, 4).float()
    assert _both(4, [(onehot * 0.7 + 0.075, target)])[0] == pytest.approx(1.0)
    assert _both(4, [((1 - onehot) / 3, target)])[0] == pytest.approx(0.0)
