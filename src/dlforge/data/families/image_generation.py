"""Image generation data: labelled images scaled to [-1, 1] (a tanh generator's range) and a frozen judge.

The judge is a digit classifier fitted on the train images at prepare time (sklearn, no torch) and
stored as plain weight arrays in extras.npz, so training (validation Fréchet distance), evaluate
and the registry gate all score generated images with the very same frozen network
(dlforge.models.nets.dcgan.Judge rebuilds it). Pure numpy/pandas at module level: the served model
rebuilds the preprocessor from this module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from dlforge.data.families.image_classification import ImageClassification, ImagePreprocessor
from dlforge.data.preprocess import Preprocessor
from dlforge.errors import UserError
from dlforge.keys import JUDGE_B, JUDGE_SCALE, JUDGE_W

REQUEST_COLUMNS = ("seed", "label")


class GenerationPreprocessor(ImagePreprocessor):
    """Pixels (n, H, W) in [0, max_value] ↔ [-1, 1]; validates served requests (seed, label)."""

    def __init__(self, shape: list[int], max_value: float, classes: list[Any]):
        super().__init__(shape, max_value, 0.5, 0.5, classes)  # (x/max - 0.5)/0.5 spans [-1, 1]

    @property
    def model_args(self) -> dict[str, dict[str, Any]]:
        return {"net": {"in_shape": [1, *self.shape], "num_classes": len(self.classes)}, "module": {}}

    def state(self) -> dict[str, Any]:
        return {"shape": self.shape, "max_value": self.max_value, "classes": self.classes}

    def to_pixels(self, x: np.ndarray) -> np.ndarray:
        """Generator output in [-1, 1], shape (n, 1, H, W) or (n, H, W) → raw pixel units (n, H, W)."""
        x = np.asarray(x, dtype=np.float64).reshape(-1, *self.shape)
        return np.clip((x + 1) / 2, 0, 1) * self.max_value

    def requests(self, raw: Any) -> tuple[np.ndarray, np.ndarray]:
        """A table of `seed` (integer ≥ 0) and `label` (one of the classes) → (seeds, label indices)."""
        df = raw if isinstance(raw, pd.DataFrame) else pd.DataFrame(raw)
        missing = [c for c in REQUEST_COLUMNS if c not in df.columns]
        if missing:
            raise UserError(f"input: missing column '{missing[0]}' (expected columns: seed, label)")
        seeds = pd.to_numeric(df["seed"], errors="coerce").to_numpy(np.float64)
        bad = np.isnan(seeds) | (seeds < 0) | (seeds != np.floor(seeds)) | (seeds >= 2**32)
        if bad.any():
            row = int(np.argmax(bad))
            raise UserError(
                f"input: column 'seed' row {row}: expected an integer in [0, 2**32), got {df['seed'].to_list()[row]!r}"
            )
        index = {c: i for i, c in enumerate(self.classes)} | {str(c): i for i, c in enumerate(self.classes)}
        labels = df["label"].map(lambda v: index.get(v, index.get(str(v), -1))).to_numpy(np.int64)
        if (labels < 0).any():
            row = int(np.argmax(labels < 0))
            raise UserError(
                f"input: column 'label' row {row}: {df['label'].to_list()[row]!r} is not one of {self.classes}"
            )
        return seeds.astype(np.int64), labels


class ImageGeneration(ImageClassification):
    """Images one per row as pixel columns p0..p{H*W-1} with a class label; the generator learns them.

    `judge_hidden` are the hidden layer widths of the frozen classifier (the last one is the feature
    space of the Fréchet distance: small enough that a few hundred test images estimate its covariance).
    """

    def __init__(
        self,
        source: Callable[[], pd.DataFrame],
        target: str,
        classes: list[Any],
        shape: list[int],
        max_value: float,
        judge_hidden: list[int],
        judge_max_iter: int = 60,
        judge_seed: int = 0,
        name: str = "data",
    ):
        super().__init__(source, target, classes, shape, max_value, name)
        self.judge_hidden, self.judge_max_iter, self.judge_seed = list(judge_hidden), judge_max_iter, judge_seed

    def fit(self, df: pd.DataFrame, train: np.ndarray) -> Preprocessor:
        return GenerationPreprocessor(self.shape, self.max_value, self.classes)

    def extras(self, df: pd.DataFrame, idx: dict[str, np.ndarray], pre: Preprocessor) -> dict[str, np.ndarray]:
        """The frozen judge: an MLP fitted on train images scaled to [0, 1]; weights judge_w{i}, judge_b{i}."""
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        flat = lambda rows: self.raw(rows).reshape(len(rows), -1) / self.max_value  # noqa: E731
        train, val = df.iloc[idx["train"]], df.iloc[idx["val"]]
        judge = MLPClassifier(
            tuple(self.judge_hidden), alpha=1e-2, max_iter=self.judge_max_iter, random_state=self.judge_seed
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # a short max_iter (tests) still gives a usable judge
            judge.fit(flat(train), self.labels(train))
        accuracy = judge.score(flat(val), self.labels(val))
        print(f"{self.name}: frozen judge {self.judge_hidden} reaches {accuracy:.3f} accuracy on val images")
        weights = {JUDGE_W.format(i): w.astype(np.float32) for i, w in enumerate(judge.coefs_)}
        biases = {JUDGE_B.format(i): b.astype(np.float32) for i, b in enumerate(judge.intercepts_)}
        return {**weights, **biases, JUDGE_SCALE: np.float32(1 / self.max_value)}
