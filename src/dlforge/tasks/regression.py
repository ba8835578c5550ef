"""Regression: MAE, RMSE and R² (torchmetrics) in natural units, classical baselines, scatter/residual plots.

Baselines: `baseline` (ridge, as configured) and each of `tuned` (boosted trees: dlforge.tasks.tuned.Tuned,
a small grid chosen on val by `select_on`), all fitted on the model-ready train features and scaled target.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchmetrics.functional import regression as F

from dlforge.data.prepared import Prepared
from dlforge.tasks import explain as ex
from dlforge.tasks import plot_data
from dlforge.tasks.base import PointServing, Task, forward

_METRICS = {
    "mae": F.mean_absolute_error,
    "rmse": lambda p, t: F.mean_squared_error(p, t, squared=False),
    "r2": F.r2_score,
}


class RegressionServing(PointServing):
    """The served regressor: raw feature columns → the predicted value in the target's units, as column `prediction`."""


class Regression(Task):
    """Scores one predicted value per row against the natural-unit target."""

    serving = RegressionServing
    baseline_args = ("baseline", "tuned")  # sklearn regressors; register leaves them unbuilt

    metric_names = list(_METRICS)

    DATA_PLOTS = {
        "predicted_vs_actual.json": {
            "template": "scatter",
            "x": "actual",
            "y": ["model", "baseline"],
            "title": "Predicted vs actual (test)",
            "x_label": "actual",
            "y_label": "predicted",
        }
    }

    EXPLAIN_PLOTS = {
        "attributions.json": {
            "template": "bar_horizontal",
            "x": "integrated_gradients",
            "y": "feature",
            "title": "Integrated Gradients: mean |attribution| per feature",
        },
        "attributions.png": None,
    }

    def __init__(
        self, baseline: Any, plot_points: int = 2000, tuned: dict[str, Any] | None = None, select_on: str = "rmse"
    ):
        self.baseline = baseline  # an sklearn regressor (instantiated from config)
        self.tuned = {k: v for k, v in (tuned or {}).items() if v is not None}  # name → Tuned (null: left out)
        self.select_on = select_on  # the val metric (natural units) that picks each tuned baseline's grid point
        self.plot_points = plot_points

    def metric(self, name: str, pred: np.ndarray, ref: np.ndarray) -> float:
        """One metric alone: the registry gate recomputes it on a thousand bootstrap resamples."""
        p, t = (
            torch.tensor(pred, dtype=torch.float64),
            torch.tensor(ref, dtype=torch.float64),
        )  # copies: served outputs may be read-only
        return round(float(_METRICS[name](p, t)), 6)

    def baselines(self, data: Prepared) -> dict[str, np.ndarray]:
        """The classical baselines fitted on the same model-ready train features and scaled target; each
        tuned one chooses its grid point on val (scored in the target's units)."""
        from dlforge.tasks.directions import higher_is_better

        (x, y), (x_test, _), pre = data.arrays("train"), data.arrays("test"), data.preprocessor()
        flat = lambda a: a.reshape(len(a), -1)  # noqa: E731
        with self.timer("baseline"):
            fitted = self.baseline.fit(flat(x), y)
        out = {"baseline": pre.inverse_target(fitted.predict(flat(x_test)))}
        if self.tuned:
            xv, truth = data.arrays("val")[0], data.targets("val")
        for name, spec in self.tuned.items():
            with self.timer(name):
                fitted = spec.fit(
                    (flat(x), y),
                    (flat(xv), truth),
                    lambda f, a: pre.inverse_target(f.predict(a)),
                    lambda p, t: self.metric(self.select_on, p, t),
                    higher_is_better(self.select_on),
                )
            out[name] = pre.inverse_target(fitted.predict(flat(x_test)))
        return out

    def plot_data(self, preds: dict[str, np.ndarray], data: Prepared, out: Path) -> None:
        """predicted_vs_actual.json: up to `plot_points` evenly spaced test rows, every method's prediction."""
        actual = self.reference(data)
        keep = np.unique(np.linspace(0, len(actual) - 1, min(len(actual), self.plot_points)).astype(int))
        plot_data.write_rows(
            out / "predicted_vs_actual.json",
            plot_data.columns("actual", actual[keep], {n: np.asarray(p)[keep] for n, p in preds.items()}),
        )

    def explain(self, net: torch.nn.Module, data: Prepared, out: Path) -> None:
        """Per-feature Integrated Gradients and permutation importance (rise of the test MSE) beside the
        linear baseline's |coefficients| (dlforge.tasks.explain.tabular)."""
        x, y = data.arrays("test")

        def mse(xs: np.ndarray) -> float:
            return float(np.mean((forward(net, xs).reshape(-1) - y) ** 2))

        ex.tabular(net, x, data.preprocessor(), None, mse, self.baseline, data.arrays("train"), out)

    def plots(self, preds: dict[str, np.ndarray], data: Prepared, out: Path) -> None:
        """Matplotlib PNGs: predicted vs actual (every predictor) and the model's residual histogram."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        actual = self.reference(data)
        keep = np.unique(np.linspace(0, len(actual) - 1, min(len(actual), self.plot_points)).astype(int))
        fig, ax = plt.subplots(figsize=(5, 5))
        for name, p in preds.items():
            ax.scatter(actual[keep], p[keep], s=8, alpha=0.6, label=name)
        lo, hi = float(actual.min()), float(actual.max())
        ax.plot([lo, hi], [lo, hi], color="grey", linewidth=1, label="perfect")
        ax.set(xlabel="actual", ylabel="predicted", title="Predicted vs actual (test)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "predicted_vs_actual.png", dpi=100)
        plt.close(fig)

        fig, ax = plt.subplots(figsize=(5, 4))
        ax.hist(actual - preds["model"], bins=30, color="tab:blue")
        ax.axvline(0.0, color="grey", linewidth=1)
        ax.set(xlabel="actual - predicted", ylabel="rows", title="Model residuals (test)")
        fig.tight_layout()
        fig.savefig(out / "residuals.png", dpi=100)
        plt.close(fig)
