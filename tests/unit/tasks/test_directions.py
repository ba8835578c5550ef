"""Every metric a built-in task reports has a direction, in one place (dlforge.tasks.directions)."""

from __future__ import annotations

import numpy as np
import pytest

from dlforge.errors import UserError
from dlforge.tasks import classification, text_classification
from dlforge.tasks.directions import higher_is_better
from dlforge.tasks.forecasting import Forecasting
from dlforge.tasks.generation import Generation
from dlforge.tasks.recommendation import Recommendation
from dlforge.tasks.regression import Regression


def _classification_metrics(k: int) -> set[str]:
    probs = np.full((6, k), 1.0 / k)
    y = np.arange(6) % k
    task = text_classification.TextClassification(baseline=None)
    return set(task.metrics(probs, y)) | set(classification.Classification(baseline=None).metrics(probs, y))


def test_every_built_in_metric_has_a_direction():
    names = _classification_metrics(2) | _classification_metrics(3)
    names |= {*Regression.metric_names, *Forecasting.metric_names, *Generation.metric_names}
    names |= set(Recommendation(k=10).metric_names)
    assert {"accuracy", "pr_auc", "log_loss", "f1_macro", "mase", "fd", "hr_at_10"} <= names
    directions = {name: higher_is_better(name) for name in names}
    assert directions["accuracy"] and directions["hr_at_10"] and not directions["rmse"] and not directions["fd"]


def test_a_metric_without_a_direction_is_one_line():
    with pytest.raises(UserError, match="metric 'kappa': no direction in dlforge.tasks.directions"):
        higher_is_better("kappa")
