"""ETS and ARIMA forecasts (statsmodels) for the forecasting baselines, tuned on the val targets.

Each variant's parameters are estimated on the training span of the series only; with those
parameters fixed, the model is run over the whole series, and its one-step-ahead prediction of each
position is the forecast of that target from the window before it (the served model's question for
horizon 1). The variant with the lowest val MAE is kept: the test span never takes part in a choice.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dlforge.errors import UserError


def _ets(span: np.ndarray, series: np.ndarray, variant: dict[str, Any]) -> np.ndarray:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    fitted = ETSModel(span, error="add", **variant).fit(disp=False)
    return np.asarray(ETSModel(series, error="add", **variant).smooth(fitted.params).fittedvalues)


def _arima(span: np.ndarray, series: np.ndarray, order: Sequence[int]) -> np.ndarray:
    from statsmodels.tsa.arima.model import ARIMA

    fitted = ARIMA(span, order=tuple(order)).fit()
    return np.asarray(fitted.apply(series).predict())


METHODS: dict[str, Callable[[np.ndarray, np.ndarray, Any], np.ndarray]] = {"ets": _ets, "arima": _arima}


def one_step(
    method: str, variants: Sequence[Any], series: np.ndarray, train: np.ndarray, val: np.ndarray, horizon: int
) -> tuple[np.ndarray, Any]:
    """One-step-ahead predictions of every position of `series` by the variant with the lowest MAE on the
    `val` positions (parameters estimated on the series up to the last `train` position), and that variant."""
    if horizon != 1:
        raise UserError(
            f"config key 'task.{method}': the {method} baseline forecasts one step ahead; data.horizon is {horizon} "
            f"(set task.{method}: null to leave it out)"
        )
    series = np.asarray(series, dtype=np.float64)
    span = series[: train.max() + 1]
    best, best_mae, chosen = None, np.inf, None
    for variant in variants:
        with warnings.catch_warnings():  # statsmodels' convergence notes: the val MAE judges the variant
            warnings.simplefilter("ignore")
            pred = METHODS[method](span, series, variant)
        mae = float(np.abs(pred[val] - series[val]).mean())
        if mae < best_mae:
            best, best_mae, chosen = pred, mae, variant
    return best, chosen
