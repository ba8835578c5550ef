"""The promotion gate: does the challenger beat the champion on the gate metric, same test set?"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Decision:
    metric: str
    challenger: float
    champion: float | None
    promoted: bool
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)


def decide(metric: str, challenger: float, champion: float | None, higher_is_better: bool, min_improvement: float) -> Decision:
    """Promote when there is no champion, or the challenger improves on it by more than `min_improvement`."""
    if champion is None:
        return Decision(metric, challenger, None, True, "no champion yet")
    gain = (challenger - champion) if higher_is_better else (champion - challenger)
    promoted = gain > min_improvement
    verb = "beats" if promoted else "does not beat"
    return Decision(metric, challenger, champion, promoted, f"challenger {verb} champion on {metric}: {challenger:.6g} vs {champion:.6g} (needs > {min_improvement:g} improvement)")
