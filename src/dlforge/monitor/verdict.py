"""The verdict on a batch and its exit code: degraded (labels say the champion got worse) beats drift
(some input or prediction column drifted) beats ok. Not 1 (an error) nor 2 (bad input: dlforge.cli)."""

from __future__ import annotations

from typing import Any

OK, DRIFT, DEGRADED = "ok", "drift", "degraded"
EXIT_CODES = {OK: 0, DRIFT: 3, DEGRADED: 4}


def decide(inputs: dict[str, dict], predictions: dict[str, dict], labels: dict[str, Any] | None) -> tuple[str, str]:
    """(verdict, one line saying why)."""
    drifted = [f"{c}: {'; '.join(v['reasons'])}" for c, v in inputs.items() if v["drift"]]
    drifted += [f"prediction {c}: {'; '.join(v['reasons'])}" for c, v in predictions.items() if v["drift"]]
    if labels is not None and labels["degraded"]:
        why = (
            f"{labels['metric']} {labels['batch']:.4g} [{labels['ci_low']:.4g}, {labels['ci_high']:.4g}] "
            f"vs champion's test {labels['champion_test']:.4g}"
        )
        return DEGRADED, why + (f"; drift in {', '.join(drifted)}" if drifted else "")
    if drifted:
        return DRIFT, ", ".join(drifted)
    checked = f"{len(inputs)} input and {len(predictions)} prediction columns within thresholds"
    if labels is not None:
        checked += f"; {labels['metric']} {labels['batch']:.4g} vs test {labels['champion_test']:.4g}"
    return OK, checked
