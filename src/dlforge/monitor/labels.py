"""A labelled batch: the gate metric on it, with a bootstrap interval, against the champion's test figure.

The metric is the task's own (`Task.metric`, the one the gate uses) and its direction is
dlforge.tasks.directions'. The interval is a percentile bootstrap of the batch's rows, stratified by
label for classification as the gate's is (dlforge.registry.gate), so every resample keeps the batch's
class counts. The champion is degraded on this batch when the whole interval is worse than its test
figure (the version's `test_<metric>` tag, written by register) by more than `labels.margin`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dlforge.errors import UserError


def natural(labels: pd.Series, pre: Any, where: str) -> np.ndarray:
    """Labels as the task compares them: class positions for classifiers, numbers otherwise."""
    classes = getattr(pre, "classes", None)
    if labels.isna().any():
        raise UserError(f"{where}: row {int(np.argmax(labels.isna().to_numpy())) + 1}: missing label")
    if classes:
        index = {str(c): i for i, c in enumerate(classes)}
        text = labels.astype(str)
        unknown = ~text.isin(index)
        if unknown.any():
            row = int(np.argmax(unknown.to_numpy()))
            raise UserError(f"{where}: row {row + 1}: unknown label {text.iloc[row]!r} (classes: {list(index)})")
        return text.map(index).to_numpy(np.int64)
    try:
        return pd.to_numeric(labels).to_numpy(np.float64)
    except (TypeError, ValueError) as e:
        raise UserError(f"{where}: expected numeric labels ({' '.join(str(e).split())[:120]})") from e


def truth(labels: pd.Series, pre: Any, where: str, batch: Any) -> np.ndarray:
    """What `Task.metric` compares predictions with (`Task.reference` of the family) for the batch's rows."""
    from dlforge.monitor.summaries import family

    values = natural(labels, pre, where)
    if family(pre) == "ratings":  # Recommendation.reference: (rating, user id) per request row
        from dlforge.data.families.ratings import USER

        return np.stack([values, pd.to_numeric(batch[USER]).to_numpy(np.float64)], 1)
    return values


def judge(
    task: Any,
    metric: str,
    pred: np.ndarray,
    truth: np.ndarray,
    champion: float,
    higher_is_better: bool,
    settings: Any,
    strata: np.ndarray | None,
) -> dict[str, Any]:
    """The batch's figure, its interval, the champion's test figure and whether the batch shows it degraded."""
    score = lambda idx: task.metric(metric, pred[idx], truth[idx])  # noqa: E731
    rows = np.arange(len(truth))
    value = score(rows)
    rng = np.random.default_rng(settings.seed)
    groups = [rows] if strata is None else [np.flatnonzero(strata == c) for c in np.unique(strata)]
    samples = np.array(
        [
            score(np.concatenate([g[rng.integers(0, len(g), len(g))] for g in groups]))
            for _ in range(settings.bootstrap_samples)
        ]
    )
    alpha = 1 - settings.confidence
    low, high = (float(v) for v in np.nanquantile(samples, [alpha / 2, 1 - alpha / 2]))
    worse = high < champion - settings.margin if higher_is_better else low > champion + settings.margin
    return {
        "metric": metric,
        "batch": value,
        "ci_low": round(low, 6),
        "ci_high": round(high, 6),
        "confidence": settings.confidence,
        "champion_test": champion,
        "higher_is_better": higher_is_better,
        "degraded": bool(worse),
        "rows": int(len(truth)),
    }
