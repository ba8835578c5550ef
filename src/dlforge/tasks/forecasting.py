"""Forecasting: MAE, RMSE (torchmetrics) and MASE; naive, seasonal-naive, linear AR, ETS and ARIMA baselines.

Every method forecasts the same test targets (dlforge.data.families.timeseries): the value `horizon` steps
after each test window. MASE divides the MAE by the in-sample MAE of the `mase_period`-step naive
forecast on the training span, so MASE < 1 beats that naive forecast on the data it was fitted on.
ETS and ARIMA (statsmodels) are estimated on the training span, a small set of variants chosen by
val MAE (dlforge.tasks.statistical).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torchmetrics.functional import mean_absolute_error, mean_squared_error

from dlforge.data import prepared as prepared_data
from dlforge.data.prepared import Prepared
from dlforge.errors import UserError
from dlforge.keys import SERIES, TIME, positions
from dlforge.tasks import explain as ex
from dlforge.tasks import plot_data
from dlforge.tasks.base import PointServing, Task


def naive_scale(series: np.ndarray, train_positions: np.ndarray, period: int) -> float:
    """In-sample MAE of the `period`-step naive forecast over the training span (MASE's denominator)."""
    span = series[: train_positions.max() + 1]
    if not 0 < period < len(span):
        raise UserError(
            f"config key 'task.mase_period': expected 1 to {len(span) - 1} (the training span), got {period}"
        )
    return float(np.abs(span[period:] - span[:-period]).mean()) or 1.0


class ForecastingServing(PointServing):
    """The served forecaster: raw windows (n, window) → the next value in natural units, as column `forecast`."""

    output_column = "forecast"

    @staticmethod
    def signature(example: Any, output: Any) -> Any:
        """A (n, window) float tensor: the served model takes arrays, or DataFrames whose columns are the window in order."""
        from mlflow.models import infer_signature

        return infer_signature(np.asarray(example, dtype=np.float64), output)


class Forecasting(Task):
    """Point forecasts in natural units against the test targets; lower is better for every metric."""

    metric_names = ["mae", "rmse", "mase"]
    serving = ForecastingServing
    baseline_args = ("ar_model",)  # the AR baseline (an sklearn regressor); register leaves it unbuilt

    DATA_PLOTS = {
        "forecast.json": {
            "template": "linear",
            "x": "time",
            "y": ["actual", "model", "naive", "seasonal_naive", "linear_ar"],
            "title": "Forecast vs actual (test)",
            "x_label": "time (timestamps as decimal years)",
            "y_label": "value",
        }
    }

    EXPLAIN_PLOTS = {
        "lags.json": {
            "template": "bar_horizontal",
            "x": "weight",
            "y": "lag",
            "title": "Integrated Gradients: mean |attribution| of each lag of the input window",
        }
    }
    EXPLAIN_WINDOWS = 64  # test windows, evenly spaced over the test span

    def __init__(
        self,
        prepared: str,
        ar_model: Any,
        ar_lags: int,
        season: int,
        mase_period: int = 1,
        zoom: int = 120,
        ets: list | None = None,
        arima: list | None = None,
    ):
        self.prepared = prepared  # the prepared folder: its extras hold the series MASE is scaled on
        self.statistical = {k: v for k, v in {"ets": ets, "arima": arima}.items() if v}  # method → variants tried
        self.ar_model = ar_model  # an sklearn regressor (from config) fitted on the last `ar_lags` values
        self.ar_lags, self.season, self.mase_period, self.zoom = ar_lags, season, mase_period, zoom

    @cached_property
    def scale(self) -> float:
        """MASE's denominator: the naive forecast's in-sample MAE over the prepared training span."""
        extras = prepared_data.load(self.prepared).extras()
        return naive_scale(extras[SERIES], extras[positions("train")], self.mase_period)

    def metric(self, name: str, pred: np.ndarray, ref: np.ndarray) -> float:
        p, t = (
            torch.tensor(np.asarray(pred, dtype=np.float64)),
            torch.tensor(np.asarray(ref, dtype=np.float64)),
        )  # copies: inputs may be read-only
        if name == "mae":
            v = mean_absolute_error(p, t)
        elif name == "rmse":
            v = mean_squared_error(p, t, squared=False)
        elif name == "mase":
            v = mean_absolute_error(p, t) / self.scale
        else:
            raise UserError(f"forecasting has no metric '{name}' (has: {', '.join(self.metric_names)})")
        return round(float(v), 6)

    def baselines(self, data: Prepared) -> dict[str, np.ndarray]:
        """Naive (last observed value), seasonal naive (one season earlier) and a linear AR on the last lags."""
        extras, horizon = data.extras(), data.preprocessor().horizon
        series, test = extras[SERIES], extras[positions("test")]
        back = self.season * -(-horizon // self.season)  # whole seasons, at least the horizon
        if test.min() < back:
            raise UserError(
                f"config key 'task.season': {self.season} steps before the first test target lie before the series starts"
            )
        train_raw, test_raw = data.raw("train").to_numpy(), data.raw("test").to_numpy()
        if not 0 < self.ar_lags <= train_raw.shape[1]:
            raise UserError(
                f"config key 'task.ar_lags': expected 1 to data.window={train_raw.shape[1]}, got {self.ar_lags}"
            )
        from dlforge.tasks.statistical import one_step

        with self.timer("linear_ar"):
            ar = self.ar_model.fit(train_raw[:, -self.ar_lags :], data.targets("train"))
        out = {
            "naive": series[test - horizon],
            "seasonal_naive": series[test - back],
            "linear_ar": ar.predict(test_raw[:, -self.ar_lags :]),
        }
        for method, variants in self.statistical.items():
            with self.timer(method):
                pred, _ = one_step(
                    method, variants, series, extras[positions("train")], extras[positions("val")], horizon
                )
            out[method] = pred[test]
        return out

    def explain(self, net: torch.nn.Module, data: Prepared, out: Path) -> None:
        """The weight of each lag: mean |Integrated Gradients| over test windows (baseline: the train mean)."""
        from dlforge.data.families.timeseries import lag_columns

        x = data.arrays("test")[0]
        rows = np.unique(np.linspace(0, len(x) - 1, min(len(x), self.EXPLAIN_WINDOWS)).astype(int))
        weight = np.abs(ex.integrated_gradients(net, x[rows], 0.0)).mean(0).reshape(-1)  # standardised: 0 = mean
        lags = lag_columns(len(weight))
        plot_data.write_rows(out / "lags.json", ({"lag": lag, "weight": w} for lag, w in zip(lags, weight)))
        top = np.argsort(-weight, kind="stable")[:3]
        ex.write_summary(
            out,
            "heaviest lags: " + ", ".join(f"{lags[i]} ({weight[i] / weight.sum():.0%})" for i in top),
            weights={lag: float(w) for lag, w in zip(lags, weight)},
        )

    def plot_data(self, preds: dict[str, np.ndarray], data: Prepared, out: Path) -> None:
        """forecast.json: per test target its time, the actual value and every method's forecast."""
        extras = data.extras()
        times = extras[TIME][extras[positions("test")]]
        if np.issubdtype(times.dtype, np.datetime64):  # DVC's templates plot numbers: a date becomes a decimal year
            t = pd.DatetimeIndex(times)
            times = (t.year + (t.dayofyear - 1) / np.where(t.is_leap_year, 366, 365)).to_numpy()
        plot_data.write_rows(
            out / "forecast.json", plot_data.columns("time", times, {"actual": data.targets("test"), **preds})
        )

    def plots(self, preds: dict[str, np.ndarray], data: Prepared, out: Path) -> None:
        """forecast.png: actual vs every forecast over the test span, and over its last `zoom` steps."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        extras = data.extras()
        times, actual = extras[TIME][extras[positions("test")]], data.targets("test")
        fig, axes = plt.subplots(2, 1, figsize=(10, 7))
        for ax, start in zip(axes, (0, max(0, len(actual) - self.zoom))):
            ax.plot(times[start:], actual[start:], color="black", linewidth=2, label="actual")
            for name, p in preds.items():
                ax.plot(times[start:], p[start:], linewidth=1, label=name, alpha=0.9 if name == "model" else 0.6)
            ax.set(
                xlabel="time",
                ylabel="value",
                title=f"Forecast vs actual, test {'span' if start == 0 else f'last {len(actual) - start} steps'}",
            )
        axes[0].legend(ncols=len(preds) + 1, fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "forecast.png", dpi=100)
        plt.close(fig)
