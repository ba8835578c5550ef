"""Classification: torchmetrics scores, classical baselines, confusion/ROC/PR plots.

Baselines: `baseline` (logistic regression, as configured) and each of `tuned` (boosted trees for
tables, an RBF SVM for images: dlforge.tasks.tuned.Tuned, a small grid chosen on val by `select_on`).

Binary tasks score the probability of the last class (the positive one); multiclass tasks use
macro averages where a metric needs one and micro-averaged curves for the plots.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchmetrics.functional import classification as F

from dlforge.data.prepared import Prepared
from dlforge.data.preprocess import Preprocessor
from dlforge.errors import UserError
from dlforge.tasks import explain as ex
from dlforge.tasks import plot_data
from dlforge.tasks.base import Serving, Task, forward, join

# Binary tasks score the positive (last) class's probability; multiclass ones the full matrix.
_METRICS: dict[int, dict[str, Any]] = {
    2: {
        "accuracy": F.binary_accuracy,
        "f1": F.binary_f1_score,
        "roc_auc": F.binary_auroc,
        "pr_auc": F.binary_average_precision,
    },
    3: {
        "accuracy": lambda p, t, k: F.multiclass_accuracy(p, t, num_classes=k, average="micro"),
        "f1_macro": lambda p, t, k: F.multiclass_f1_score(p, t, num_classes=k, average="macro"),
        "roc_auc": lambda p, t, k: F.multiclass_auroc(p, t, num_classes=k, average="macro"),
        "pr_auc": lambda p, t, k: F.multiclass_average_precision(p, t, num_classes=k, average="macro"),
    },
}


class ClassificationServing(Serving):
    """The served classifier: raw inputs → class probabilities → the label and one probability column per class."""

    @staticmethod
    def predict(net: torch.nn.Module, pre: Preprocessor, raw: Any) -> np.ndarray:
        return torch.from_numpy(forward(net, pre.transform(raw))).softmax(-1).numpy()

    @staticmethod
    def format_output(probs: np.ndarray, pre: Preprocessor) -> Any:
        """What a served model returns: the predicted label and one probability column per class."""
        import pandas as pd

        out = pd.DataFrame({"label": np.asarray(pre.classes, dtype=object)[probs.argmax(1)]})
        for i, c in enumerate(pre.classes):
            out[f"proba_{c}"] = probs[:, i]
        return out

    @staticmethod
    def pred_from_output(output: Any, pre: Preprocessor) -> np.ndarray:
        """The class-probability matrix back out of a served model's output (for the gate)."""
        return output[[f"proba_{c}" for c in pre.classes]].to_numpy(np.float64)


class Classification(Task):
    """Scores class-probability matrices (n, k) against integer labels."""

    serving = ClassificationServing
    baseline_args = ("baseline", "tuned")  # sklearn estimators with predict_proba; register leaves them unbuilt

    DATA_PLOTS = {
        "roc.json": {
            "template": "simple",
            "x": "fpr",
            "y": ["model", "baseline"],
            "title": "ROC curve (test)",
            "x_label": "false positive rate",
            "y_label": "true positive rate",
        },
        "pr.json": {
            "template": "simple",
            "x": "recall",
            "y": ["model", "baseline"],
            "title": "Precision-recall curve (test)",
            "x_label": "recall",
            "y_label": "precision",
        },
        "confusion.json": {
            "template": "confusion",
            "x": "actual",
            "y": "predicted",
            "title": "Confusion matrix (test)",
        },
    }

    EXPLAIN_PLOTS = {
        "attributions.json": {
            "template": "bar_horizontal",
            "x": "integrated_gradients",
            "y": "feature",
            "title": "Integrated Gradients: mean |attribution| per feature (tabular) or per class (images)",
        },
        "attributions.png": None,
    }
    EXPLAIN_PER_CLASS = 2  # test images per class in the attribution grid

    def __init__(
        self,
        baseline: Any,
        curve_points: int = 200,
        baseline_rows: int | None = None,
        seed: int = 0,
        tuned: dict[str, Any] | None = None,
        select_on: str = "log_loss",
    ):
        self.baseline = baseline  # an sklearn estimator with predict_proba (instantiated from config)
        self.tuned = {k: v for k, v in (tuned or {}).items() if v is not None}  # name → Tuned (null: left out)
        self.select_on = select_on  # the val metric that picks each tuned baseline's grid point
        self.curve_points = curve_points
        if baseline_rows is not None and baseline_rows < 1:
            raise UserError(f"config key 'task.baseline_rows': {baseline_rows}; expected a positive integer or null")
        self.baseline_rows, self.seed = baseline_rows, seed  # the baseline's seeded train sample (None: all rows)

    def serving_batches(self, data: Prepared) -> Iterator[Any]:
        """The raw test requests in batches of the prepared files' chunk size (one batch for small data)."""
        return data.raw_batches("test")

    def baseline_train_rows(self, data: Prepared) -> int | None:
        n = data.meta["sizes"]["train"]
        return None if self.baseline_rows is None or n <= self.baseline_rows else self.baseline_rows

    def baseline_train(self, data: Prepared) -> tuple[np.ndarray, np.ndarray]:
        """The train rows the baseline is fitted on: all of them, or a seeded sample of task.baseline_rows."""
        k = self.baseline_train_rows(data)
        if k is None:
            return data.arrays("train")
        rows = np.sort(np.random.default_rng(self.seed).choice(data.meta["sizes"]["train"], k, replace=False))
        return data.take("train", "x", rows), data.take("train", "y", rows)

    def metrics(self, probs: np.ndarray, y: np.ndarray) -> dict[str, float]:
        return {name: self.metric(name, probs, y) for name in [*_METRICS[min(np.shape(probs)[1], 3)], "log_loss"]}

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

    def strata(self, data: Prepared) -> np.ndarray:
        return self.reference(data)

    def baselines(self, data: Prepared) -> dict[str, np.ndarray]:
        """The classical baselines fitted on the model-ready training features (flattened), each tuned one
        choosing its grid point on val, predicting the test rows chunk by chunk."""
        x, y = self.baseline_train(data)
        flat = lambda a: a.reshape(len(a), -1)  # noqa: E731  (images: pixels as columns)

        def val() -> tuple[np.ndarray, np.ndarray]:
            xv, yv = data.arrays("val")
            return flat(xv), yv

        return self.fit_classifiers(
            (flat(x), y), val, lambda f: join([f.predict_proba(flat(c)) for c in data.chunks("test", "x")])
        )

    def fit_classifiers(
        self, train: tuple[Any, Any], val: Callable[[], tuple[Any, Any]], on_test: Callable[[Any], np.ndarray]
    ) -> dict[str, np.ndarray]:
        """`baseline` and each of `tuned` fitted on `train` (the tuned ones choose their grid point on `val()`,
        built only when there are some), each fit timed; every fitted classifier's test probabilities."""
        from dlforge.tasks.directions import higher_is_better

        with self.timer("baseline"):
            fitted = self.baseline.fit(*train)
        out = {"baseline": on_test(fitted)}
        val_xy = val() if self.tuned else None
        for name, spec in self.tuned.items():
            with self.timer(name):
                fitted = spec.fit(
                    train,
                    val_xy,
                    lambda f, a: f.predict_proba(a),
                    lambda p, t: self.metric(self.select_on, p, t),
                    higher_is_better(self.select_on),
                )
            out[name] = on_test(fitted)
        return out

    def plots(self, results: dict[str, np.ndarray], data: Prepared, out: Path) -> None:
        """Matplotlib PNGs of the confusion matrix and the model's (and baselines') ROC and PR curves."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        y, classes = self.reference(data), data.preprocessor().classes
        t = torch.as_tensor(y)
        curves = {name: self._curves(torch.as_tensor(p, dtype=torch.float32), t) for name, p in results.items()}
        pred = results["model"].argmax(1)
        for kind, (xlabel, ylabel) in {"roc": ("fpr", "tpr"), "pr": ("recall", "precision")}.items():
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
        ax.set(
            xticks=range(len(classes)),
            yticks=range(len(classes)),
            xticklabels=classes,
            yticklabels=classes,
            xlabel="predicted",
            ylabel="actual",
            title="Confusion matrix (test)",
        )
        for (i, j), v in np.ndenumerate(cm):
            ax.text(j, i, str(v), ha="center", va="center", fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "confusion.png", dpi=100)
        plt.close(fig)

    def plot_data(self, results: dict[str, np.ndarray], data: Prepared, out: Path) -> None:
        """ROC and PR curves of every method on a shared grid (micro-averaged for multiclass); one confusion row per test row."""
        y, classes = self.reference(data), np.asarray(data.preprocessor().classes, dtype=object)
        t = torch.as_tensor(y)
        roc, pr = {}, {}
        for name, p in results.items():
            p = torch.as_tensor(p, dtype=torch.float32)
            if p.shape[1] == 2:
                scores, target = p[:, 1], t
            else:
                scores, target = p.flatten(), torch.nn.functional.one_hot(t, p.shape[1]).flatten()
            fpr, tpr, _ = F.binary_roc(scores, target)
            precision, recall, _ = F.binary_precision_recall_curve(scores, target)
            roc[name] = plot_data.roc_on_grid(fpr.numpy(), tpr.numpy())
            pr[name] = plot_data.pr_on_grid(recall.numpy(), precision.numpy())
        plot_data.write_rows(out / "roc.json", plot_data.columns("fpr", plot_data.GRID, roc))
        plot_data.write_rows(out / "pr.json", plot_data.columns("recall", plot_data.GRID, pr))
        pred = classes[results["model"].argmax(1)]
        plot_data.write_rows(out / "confusion.json", ({"actual": a, "predicted": p} for a, p in zip(classes[y], pred)))

    def explain(self, net: torch.nn.Module, data: Prepared, out: Path) -> None:
        """Tabular: Integrated Gradients and permutation importance per feature beside the baseline's
        |coefficients|; images: attribution maps of the first test images of each class."""
        (x, y), pre = data.arrays("test", mmap=True), data.preprocessor()
        y = np.array(y)
        if x.ndim == 2:
            rows = np.arange(min(len(y), ex.PERMUTATION_ROWS))  # the first test rows: explain stays cheap at any size
            self._explain_tabular(net, data, data.take("test", "x", rows), y[rows], pre, out)
        else:
            self._explain_images(net, data, y, pre, out)

    def _explain_tabular(self, net, data: Prepared, x: np.ndarray, y: np.ndarray, pre: Any, out: Path) -> None:
        k = len(pre.classes)
        target = np.full(len(x), k - 1) if k == 2 else y  # binary: toward the positive class

        def log_loss(xs: np.ndarray) -> float:
            p = torch.from_numpy(forward(net, xs)).log_softmax(-1)
            return float(torch.nn.functional.nll_loss(p, torch.as_tensor(y)))

        ex.tabular(net, x, pre, target, log_loss, self.baseline, self.baseline_train(data), out)

    def _explain_images(self, net, data: Prepared, y: np.ndarray, pre: Any, out: Path) -> None:
        rows = ex.first_per_class(y, self.EXPLAIN_PER_CLASS)
        x, black = data.take("test", "x", rows), min(c.min() for c in data.chunks("test", "x"))
        attr = ex.integrated_gradients(net, x, black, y[rows])[:, 0]  # baseline: a black image
        pred = forward(net, x).argmax(1)
        classes = np.asarray(pre.classes, dtype=object)
        titles = [f"{classes[a]}→{classes[p]}" for a, p in zip(y[rows], pred)]
        ex.image_grid(x[:, 0], attr, titles, out / "attributions.png", per_row=min(len(rows), 10))
        evidence = {str(classes[c]): float(attr[y[rows] == c].sum((1, 2)).mean()) for c in np.unique(y[rows])}
        table = [{"feature": f"class {c}", "integrated_gradients": v} for c, v in evidence.items()]
        plot_data.write_rows(out / "attributions.json", table)  # per class: mean logit gain over a black image
        ex.write_summary(
            out,
            f"attribution maps of {len(rows)} test images ({int((pred == y[rows]).sum())} classified correctly)",
            images=len(rows),
        )

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
