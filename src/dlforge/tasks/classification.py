"""Classification: torchmetrics scores, a logistic-regression baseline, confusion/ROC/PR plots.

Binary tasks score the probability of the last class (the positive one); multiclass tasks use
macro averages where a metric needs one and micro-averaged curves for the plots.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchmetrics.functional import classification as F

from dlforge.io import write_json

# Binary tasks score the positive (last) class's probability; multiclass ones the full matrix.
_METRICS: dict[int, dict[str, Any]] = {
    2: {"accuracy": F.binary_accuracy, "f1": F.binary_f1_score, "roc_auc": F.binary_auroc, "pr_auc": F.binary_average_precision},
    3: {
        "accuracy": lambda p, t, k: F.multiclass_accuracy(p, t, num_classes=k, average="micro"),
        "f1_macro": lambda p, t, k: F.multiclass_f1_score(p, t, num_classes=k, average="macro"),
        "roc_auc": lambda p, t, k: F.multiclass_auroc(p, t, num_classes=k, average="macro"),
        "pr_auc": lambda p, t, k: F.multiclass_average_precision(p, t, num_classes=k, average="macro"),
    },
}


class Classification:
    """Scores class-probability matrices (n, k) against integer labels."""

    def __init__(self, baseline: Any, curve_points: int = 200):
        self.baseline = baseline  # an sklearn estimator with predict_proba (instantiated from config)
        self.curve_points = curve_points

    def metrics(self, probs: np.ndarray, y: np.ndarray) -> dict[str, float]:
        return {name: self.metric(name, probs, y) for name in self.metric_names(np.shape(probs)[1])}

    @staticmethod
    def metric_names(num_classes: int) -> list[str]:
        return [*_METRICS[min(num_classes, 3)], "log_loss"]

    def metric(self, name: str, probs: np.ndarray, y: np.ndarray) -> float:
        """One metric alone: the registry gate recomputes it on a thousand bootstrap resamples."""
        p, t = torch.as_tensor(probs, dtype=torch.float32), torch.as_tensor(y)
        if name == "log_loss":
            v = torch.nn.functional.nll_loss(p.clamp_min(1e-12).log(), t)
        elif p.shape[1] == 2:
            v = _METRICS[2][name](p[:, 1], t)
        else:
            v = _METRICS[3][name](p, t, p.shape[1])
        return round(float(v), 6)

    def fit_baseline(self, x: np.ndarray, y: np.ndarray) -> Any:
        """Fit the classical baseline on the training split (features flattened)."""
        return self.baseline.fit(x.reshape(len(x), -1), y)

    def baseline_probs(self, fitted: Any, x: np.ndarray) -> np.ndarray:
        return fitted.predict_proba(x.reshape(len(x), -1))

    def plots(self, results: dict[str, np.ndarray], y: np.ndarray, classes: list[Any], out: Path) -> None:
        """Write DVC plot data (JSON rows) and matplotlib PNGs of the model (and baseline) curves."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        t = torch.as_tensor(y)
        curves = {name: self._curves(torch.as_tensor(p, dtype=torch.float32), t) for name, p in results.items()}
        model_probs = results["model"]
        pred = model_probs.argmax(1)
        write_json(out / "confusion.json", [{"actual": str(classes[a]), "predicted": str(classes[b])} for a, b in zip(y, pred)])
        for kind, (xlabel, ylabel) in {"roc": ("fpr", "tpr"), "pr": ("recall", "precision")}.items():
            write_json(out / f"{kind}.json", [{xlabel: a, ylabel: b} for a, b in curves["model"][kind]])
            fig, ax = plt.subplots(figsize=(5, 4))
            for name, c in curves.items():
                xs, ys = zip(*c[kind])
                ax.plot(xs, ys, label=name)
            ax.set(xlabel=xlabel, ylabel=ylabel, title=f"{kind.upper()} curve (test)")
            ax.legend()
            fig.tight_layout()
            fig.savefig(out / f"{kind}.png", dpi=100)
            plt.close(fig)
        cm = F.multiclass_confusion_matrix(torch.as_tensor(pred), t, num_classes=len(classes)).numpy()
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.imshow(cm, cmap="Blues")
        ax.set(xticks=range(len(classes)), yticks=range(len(classes)), xticklabels=classes, yticklabels=classes, xlabel="predicted", ylabel="actual", title="Confusion matrix (test)")
        for (i, j), v in np.ndenumerate(cm):
            ax.text(j, i, str(v), ha="center", va="center", fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "confusion.png", dpi=100)
        plt.close(fig)

    def _curves(self, p: torch.Tensor, t: torch.Tensor) -> dict[str, list[tuple[float, float]]]:
        if p.shape[1] == 2:
            scores, target = p[:, 1], t
        else:  # micro-average: every (row, class) pair is one binary decision
            scores, target = p.flatten(), torch.nn.functional.one_hot(t, p.shape[1]).flatten()
        fpr, tpr, _ = F.binary_roc(scores, target)
        precision, recall, _ = F.binary_precision_recall_curve(scores, target)
        return {"roc": self._thin(fpr, tpr), "pr": self._thin(recall, precision)}

    def _thin(self, a: torch.Tensor, b: torch.Tensor) -> list[tuple[float, float]]:
        keep = np.unique(np.linspace(0, len(a) - 1, min(len(a), self.curve_points)).astype(int))
        return [(round(float(a[i]), 5), round(float(b[i]), 5)) for i in keep]

    @staticmethod
    def format_output(probs: np.ndarray, classes: list[Any]) -> Any:
        """What a served model returns: the predicted label and one probability column per class."""
        import pandas as pd

        out = pd.DataFrame({"label": np.asarray(classes, dtype=object)[probs.argmax(1)]})
        for i, c in enumerate(classes):
            out[f"proba_{c}"] = probs[:, i]
        return out

    @staticmethod
    def probs_from_output(output: Any, classes: list[Any]) -> np.ndarray:
        """The class-probability matrix back out of a served model's output (for the gate)."""
        return output[[f"proba_{c}" for c in classes]].to_numpy(np.float64)
