"""The promotion gate: does the challenger beat the champion on the gate metric, same test rows?

A point estimate on a few hundred test rows is noisy (credit default has ~50 positives in its test
split), so the gate uses a paired bootstrap: both models' predictions on the same resampled rows,
the metric's gain recomputed on each resample, and a percentile interval for the gain. The
challenger replaces the champion only when the whole interval lies above `min_improvement`.
With `bootstrap_samples: 0` it falls back to comparing the point estimates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from dlforge.errors import UserError

Score = Callable[[np.ndarray, np.ndarray], float]  # (predictions, reference) -> metric


@dataclass
class Decision:
    metric: str
    challenger: float
    champion: float | None
    promoted: bool
    reason: str
    gain: float | None = None  # challenger - champion, sign flipped when lower is better
    ci_low: float | None = None  # bootstrap interval of the gain (None without a champion or bootstrap)
    ci_high: float | None = None
    p_not_better: float | None = None  # share of resamples whose gain does not clear min_improvement
    confidence: float | None = None
    bootstrap_samples: int = 0

    def figures(self) -> dict:
        """Numbers and booleans only (for DVC metrics and version tags): no reason text, no Nones."""
        return {k: v for k, v in asdict(self).items() if v is not None and k not in ("reason", "metric")}


def check_settings(confidence: float, samples: int) -> None:
    if not 0 < confidence < 1:
        raise UserError(
            f"config key 'register.gate.confidence': expected a number strictly between 0 and 1, got {confidence!r}"
        )
    if samples < 0 or 0 < samples < 100:
        raise UserError(
            f"config key 'register.gate.bootstrap_samples': expected 0 (no bootstrap) or at least 100, got {samples!r}"
        )


def decide(
    metric: str, challenger: float, champion: float | None, higher_is_better: bool, min_improvement: float
) -> Decision:
    """Point estimates only: promote when there is no champion or the gain exceeds `min_improvement`."""
    if champion is None:
        return Decision(metric, challenger, None, True, "no champion yet")
    gain = (challenger - champion) if higher_is_better else (champion - challenger)
    promoted = gain > min_improvement
    verb = "beats" if promoted else "does not beat"
    return Decision(
        metric,
        challenger,
        champion,
        promoted,
        f"challenger {verb} champion on {metric}: {challenger:.6g} vs {champion:.6g} (needs > {min_improvement:g} improvement)",
        gain=round(gain, 6),
    )


def paired_bootstrap(
    metric: str,
    score: Score,
    challenger: np.ndarray,
    champion: np.ndarray | None,
    y: np.ndarray,
    higher_is_better: bool,
    min_improvement: float,
    confidence: float = 0.95,
    samples: int = 1000,
    seed: int = 0,
    strata: np.ndarray | None = None,
) -> Decision:
    """Gate on the bootstrap interval of the gain; `challenger`/`champion` are predictions for rows `y`.

    With `strata` (class labels) resampling is stratified, so every resample keeps the test split's
    class counts (a resample without positives has no PR-AUC); the same row indices serve both
    models (paired).
    """
    check_settings(confidence, samples)
    new = score(challenger, y)
    if champion is None:
        return Decision(metric, new, None, True, "no champion yet", confidence=confidence)
    point = decide(metric, new, score(champion, y), higher_is_better, min_improvement)
    if samples == 0:
        return point
    sign = 1.0 if higher_is_better else -1.0
    rng = np.random.default_rng(seed)
    groups = [np.arange(len(y))] if strata is None else [np.flatnonzero(strata == c) for c in np.unique(strata)]
    gains = np.empty(samples)
    for b in range(samples):
        idx = np.concatenate([g[rng.integers(0, len(g), len(g))] for g in groups])
        gains[b] = sign * (score(challenger[idx], y[idx]) - score(champion[idx], y[idx]))
    alpha = 1 - confidence
    low, high = (float(v) for v in np.quantile(gains, [alpha / 2, 1 - alpha / 2]))
    promoted = low > min_improvement
    verb = "beats" if promoted else "does not clearly beat"
    reason = (
        f"challenger {verb} champion on {metric}: {point.challenger:.4g} vs {point.champion:.4g}, "
        f"gain {point.gain:+.4g} with {confidence:.0%} interval [{low:+.4g}, {high:+.4g}] (needs > {min_improvement:g})"
    )
    return Decision(
        metric,
        point.challenger,
        point.champion,
        promoted,
        reason,
        gain=point.gain,
        ci_low=round(low, 6),
        ci_high=round(high, 6),
        p_not_better=round(float((gains <= min_improvement).mean()), 6),
        confidence=confidence,
        bootstrap_samples=samples,
    )
