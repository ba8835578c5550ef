"""Text classification: the classification metrics plus macro-F1, a TF-IDF baseline on the raw texts.

The served model takes raw strings (a table with the text column, or a plain list of texts) and
answers with the label and one probability per class, like every classification model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torchmetrics.functional import classification as F

from dlforge.data.prepared import Prepared
from dlforge.tasks.classification import Classification


class TextClassification(Classification):
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

    def baselines(self, data: Prepared) -> dict[str, np.ndarray]:
        """The configured sklearn pipeline (TF-IDF + logistic regression) fitted on the raw training texts."""
        column = data.preprocessor().column
        train, test = data.raw("train")[column], self.serving_input(data)[column]
        fitted = self.baseline.fit(train.tolist(), data.targets("train"))
        return {"baseline": fitted.predict_proba(test.tolist())}

    @staticmethod
    def signature(example: Any, output: Any) -> Any:
        """One unnamed string column, so MLflow lets a plain list of texts through as well as a table.

        MLflow keeps a table's first column: the text column must come first in a multi-column request.
        """
        from mlflow.models import ModelSignature, infer_signature
        from mlflow.types import ColSpec, Schema

        return ModelSignature(Schema([ColSpec("string")]), infer_signature(example, output).outputs)
