"""Text classification: the classification metrics plus macro-F1, TF-IDF baselines on the raw texts.

Baselines: `baseline` (word TF-IDF + logistic regression) and each of `tuned` (word + character
n-gram TF-IDF + logistic regression, C chosen on the val texts: dlforge.tasks.tuned.Tuned).

The served model takes raw strings (a table with the text column, or a plain list of texts) and
answers with the label and one probability per class, like every classification model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchmetrics.functional import classification as F

from dlforge.data.prepared import Prepared
from dlforge.tasks import explain as ex
from dlforge.tasks import plot_data
from dlforge.tasks.base import forward
from dlforge.tasks.classification import Classification, ClassificationServing


class TextClassificationServing(ClassificationServing):
    """The served text classifier: raw strings (a table's text column, or a plain list) → label and probabilities."""

    @staticmethod
    def signature(example: Any, output: Any) -> Any:
        """One unnamed string column, so MLflow lets a plain list of texts through as well as a table.

        MLflow keeps a table's first column: the text column must come first in a multi-column request.
        """
        from mlflow.models import ModelSignature, infer_signature
        from mlflow.types import ColSpec, Schema

        return ModelSignature(Schema([ColSpec("string")]), infer_signature(example, output).outputs)


class TextClassification(Classification):
    serving = TextClassificationServing

    """Scores class probabilities against labels; the baseline reads the texts, not the word ids."""

    def metrics(self, probs: np.ndarray, y: np.ndarray) -> dict[str, float]:
        scores = super().metrics(probs, y)
        if np.shape(probs)[1] == 2:  # multiclass scores already include it
            scores["f1_macro"] = self.metric("f1_macro", probs, y)
        return scores

    def metric(self, name: str, probs: np.ndarray, y: np.ndarray) -> float:
        if name == "f1_macro" and np.shape(probs)[1] == 2:  # binary F1 scores one class; macro averages both
            v = F.multiclass_f1_score(
                torch.as_tensor(probs, dtype=torch.float32), torch.as_tensor(y), num_classes=2, average="macro"
            )
            return round(float(v), 6)
        return super().metric(name, probs, y)

    EXPLAIN_PLOTS = {
        "tokens.json": {
            "template": "bar_horizontal",
            "x": "attribution",
            "y": "token",
            "title": "Layer Integrated Gradients: the words that moved the most to the predicted class",
        }
    }
    EXPLAIN_REVIEWS = 3  # test texts per class whose tokens are attributed
    EXPLAIN_TOP = 20  # tokens in the bar chart (largest |attribution|)

    def explain(self, net: torch.nn.Module, data: Prepared, out: Path) -> None:
        """Per-token Layer Integrated Gradients on the word embedding toward each text's predicted class; the
        baseline text keeps the length but reads every word as unknown. tokens.md shows the texts, coloured."""
        from dlforge.data.families.text_classification import PAD, UNK

        (ids, y), pre = data.arrays("test"), data.preprocessor()
        rows = ex.first_per_class(y, self.EXPLAIN_REVIEWS)
        ids = ids[rows]
        pred = forward(net, ids).argmax(1)
        baseline = np.where(ids != PAD, UNK, PAD)
        attr = ex.token_attributions(net, net.embed, ids, baseline, pred)
        words = np.asarray(["<pad>", "<unk>", *pre.vocabulary], dtype=object)
        classes = np.asarray(pre.classes, dtype=object)
        found, lines = [], ["# Per-token attributions toward the predicted class\n"]
        for i, (row, a) in enumerate(zip(ids, attr)):
            n = int((row != PAD).sum())
            found += [{"review": i, "position": j, "token": words[row[j]], "attribution": a[j]} for j in range(n)]
            text = " ".join(
                f"**{words[t]}**({v:+.2f})" if abs(v) >= 0.5 * np.abs(a[:n]).max() else words[t]
                for t, v in zip(row[:n], a[:n])
            )
            lines.append(f"{i}. actual {classes[y[rows][i]]}, predicted {classes[pred[i]]}: {text}\n")
        top = sorted(found, key=lambda r: -abs(r["attribution"]))[: self.EXPLAIN_TOP]
        plot_data.write_rows(
            out / "tokens.json",
            [{"token": f"{r['token']} (#{r['review']})", "attribution": r["attribution"]} for r in top],
        )
        (out / "tokens.md").write_text(
            "\n".join(lines)
            + "\n"
            + ex.markdown_table(["review", "position", "token", "attribution"], [list(r.values()) for r in found])
        )
        ex.write_summary(
            out,
            f"strongest word: '{top[0]['token']}' ({top[0]['attribution']:+.2f}) over {len(rows)} texts",
            top_tokens=[r["token"] for r in top[:5]],
        )

    def baselines(self, data: Prepared) -> dict[str, np.ndarray]:
        """The configured sklearn pipelines fitted on the raw training texts (tuned ones: grid point chosen on val)."""
        column = data.preprocessor().column
        texts = lambda split: data.raw(split)[column].tolist()  # noqa: E731
        test = self.serving_input(data)[column].tolist()
        return self.fit_classifiers(
            (texts("train"), data.targets("train")),
            lambda: (texts("val"), data.targets("val")),
            lambda f: f.predict_proba(test),
        )
