"""Which way each metric improves: the one place a metric's direction is written.

Every metric a task reports is listed here by name (`hr_at_10` by its stem `hr_at`). The registry
gate, the results table and the seeds summary read the direction of the gate metric from here, so an
experiment names only its gate metric. tests/unit/tasks/test_directions.py checks every built-in task's metrics. (Other shared names: dlforge.keys.)
"""

from __future__ import annotations

import re

from dlforge.errors import UserError

HIGHER_IS_BETTER = {
    "accuracy": True,  # share of rows classified correctly
    "f1": True,  # binary F1 of the positive class
    "f1_macro": True,  # F1 averaged over classes
    "roc_auc": True,
    "pr_auc": True,  # average precision
    "log_loss": False,  # negative log-likelihood of the true class
    "mae": False,
    "rmse": False,
    "mase": False,  # MAE over the seasonal-naive in-sample MAE
    "r2": True,
    "fd": False,  # Fréchet distance between generated and real images
    "confidence": True,  # the judge's mean confidence in the requested class
    "hr_at": True,  # hit rate among the top k
    "ndcg_at": True,  # normalised discounted cumulative gain of the top k
}


def higher_is_better(metric: str) -> bool:
    """True when a higher value of `metric` is better; one line naming it when it has no direction."""
    stem = re.sub(r"_at_\d+$", "_at", metric)
    if stem not in HIGHER_IS_BETTER:
        raise UserError(
            f"metric '{metric}': no direction in dlforge.tasks.directions (known: {', '.join(HIGHER_IS_BETTER)})"
        )
    return HIGHER_IS_BETTER[stem]
