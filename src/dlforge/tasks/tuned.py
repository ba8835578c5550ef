"""Classical baselines tuned on the validation split: a scikit-learn estimator and a small grid.

Each grid point is fitted on the train split and scored on the val split by the task's own metric
(`select_on`); the best one (first on ties, in the grid's order) is kept as fitted on train and
predicts the test requests. The test split never takes part in the choice. Every baseline's wall
time (the whole grid, as a data scientist would spend it) is recorded beside its score
(`Timer`; evaluate writes it into metrics.json as `fit_seconds`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

FIT_SECONDS = "fit_seconds"  # the key beside each baseline's metrics in metrics.json


class Tuned:
    """An estimator and the grid it is tuned over on val (built from config: `_target_: dlforge.tasks.tuned.Tuned`)."""

    def __init__(self, estimator: Any, grid: dict[str, list] | None = None):
        self.estimator = estimator  # an sklearn estimator (instantiated from config)
        self.grid = dict(grid or {})  # parameter → values tried (sklearn's set_params names, e.g. svc__C)
        self.chosen: dict[str, Any] = {}  # the grid point kept (after fit)

    def fit(
        self,
        train: tuple[np.ndarray, np.ndarray],
        val: tuple[np.ndarray, np.ndarray],
        predict: Callable[[Any, Any], np.ndarray],
        score: Callable[[np.ndarray, np.ndarray], float],
        higher_is_better: bool,
    ) -> Any:
        """The estimator fitted on `train` at the grid point whose `predict(fitted, x_val)` scores best on val."""
        from sklearn.base import clone
        from sklearn.model_selection import ParameterGrid

        best, best_score = None, None
        for point in ParameterGrid({k: list(v) for k, v in self.grid.items()}):
            fitted = clone(self.estimator).set_params(**point).fit(*train)
            s = score(predict(fitted, val[0]), val[1])
            if best_score is None or (s > best_score if higher_is_better else s < best_score):
                best, best_score, self.chosen = fitted, s, point
        return best


class Timer:
    """Wall seconds per baseline name: `with timer("boosted_trees"): ...`."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - start, 3)
