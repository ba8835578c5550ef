"""Speech commands: raw waveforms in, the word (label) and its probability out; an MFCC baseline.

Metrics, ROC/PR/confusion plots and data plots are the classification ones (multiclass: accuracy,
macro-F1, ...). The baseline is MFCC statistics (dlforge.data.mel.mfcc_stats: mean and spread of
the MFCCs and their deltas over time) + the configured sklearn classifier, fitted on the training
clips; each of `tuned` (an RBF SVM on the same features) chooses its grid point on the val clips. Extra plots: the log-mel spectrograms of a few misclassified test clips. Explanations:
Integrated Gradients on the network's log-mel input (baseline: the log-mel of silence) for the
first test clip of each class, as maps over time × frequency and as mean |attribution| per mel band.

Serving: a clip is a float waveform at the model's sample rate (1-d for one clip, (n, samples) or a
list of clips for several). The `sample_rate` param declares the request's rate and is checked; a
request without it is taken to be at the model's rate, and clips longer than the preprocessor's
bound (`max_samples`) are refused, so a clip at a much higher rate cannot slip through unnoticed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlforge.data.mel import band_edges, log_mel, mfcc_stats
from dlforge.data.prepared import Prepared
from dlforge.data.preprocess import Preprocessor
from dlforge.tasks import explain as ex
from dlforge.tasks import plot_data
from dlforge.tasks.base import forward
from dlforge.tasks.classification import Classification, ClassificationServing


class SpeechClassificationServing(ClassificationServing):
    """The served speech classifier: raw waveforms (and an optional `sample_rate` param) → label, its probability, probabilities."""

    @classmethod
    def serve(cls, net: torch.nn.Module, pre: Preprocessor, raw: Any, params: dict | None = None) -> Any:
        pre.check_rate((params or {}).get("sample_rate"))
        return cls.format_output(cls.predict(net, pre, raw), pre)

    @staticmethod
    def format_output(probs: np.ndarray, pre: Preprocessor) -> Any:
        """The label, its probability, and one probability column per class."""
        out = ClassificationServing.format_output(probs, pre)
        out.insert(1, "probability", probs.max(1) if len(probs) else np.zeros(0))
        return out

    @staticmethod
    def signature(example: Any, output: Any) -> Any:
        """Any array through MLflow's schema check (`object` tensor: 1-d, 2-d or clips of different
        lengths; the preprocessor checks them) and an optional `sample_rate` param (an integer, Hz)."""
        from mlflow.models import ModelSignature, infer_signature
        from mlflow.types.schema import ParamSchema, ParamSpec, Schema, TensorSpec

        return ModelSignature(
            Schema([TensorSpec(np.dtype(object), (-1,))]),
            infer_signature(example, output).outputs,
            ParamSchema([ParamSpec("sample_rate", "long", None)]),
        )


class SpeechClassification(Classification):
    """Class probabilities from raw audio; the feature settings are the network's defaults."""

    serving = SpeechClassificationServing

    EXPLAIN_PLOTS = {
        "bands.json": {
            "template": "bar_horizontal",
            "x": "attribution",
            "y": "band",
            "title": "Integrated Gradients on the log-mel input: mean |attribution| per mel band",
        },
        "attributions.png": None,
    }
    MISCLASSIFIED = 6  # misclassified test clips drawn in misclassified.png

    def __init__(
        self,
        baseline: Any,
        n_mfcc: int = 13,
        n_mels: int = 40,
        n_fft: int = 400,
        hop: int = 160,
        curve_points: int = 200,
        tuned: dict[str, Any] | None = None,
        select_on: str = "log_loss",
    ):
        super().__init__(baseline, curve_points, tuned=tuned, select_on=select_on)
        self.n_mfcc, self.n_mels, self.n_fft, self.hop = n_mfcc, n_mels, n_fft, hop

    def _mfcc(self, waves: np.ndarray, rate: int) -> np.ndarray:
        return mfcc_stats(waves, rate, self.n_fft, self.hop, self.n_mels, self.n_mfcc)

    def baselines(self, data: Prepared) -> dict[str, np.ndarray]:
        """MFCC statistics of the training clips → each configured classifier (the tuned ones choose their
        grid point on the val clips' statistics); the same features of the test clips."""
        pre = data.preprocessor()
        mfcc = lambda raw: self._mfcc(pre.transform(raw), pre.sample_rate)  # noqa: E731
        test = mfcc(self.serving_input(data))  # the features are shared: each timer covers its classifier's fit
        return self.fit_classifiers(
            (mfcc(data.raw("train")), data.targets("train")),
            lambda: (mfcc(data.raw("val")), data.targets("val")),
            lambda f: f.predict_proba(test),
        )

    def plots(self, results: dict[str, np.ndarray], data: Prepared, out: Path) -> None:
        """The classification plots, and misclassified.png: log-mels of the first misclassified test clips."""
        super().plots(results, data, out)
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        pre, y = data.preprocessor(), self.reference(data)
        pred = results["model"].argmax(1)
        wrong = np.flatnonzero(pred != y)[: self.MISCLASSIFIED]
        classes = np.asarray(pre.classes, dtype=object)
        fig, axes = plt.subplots(1, max(len(wrong), 1), figsize=(2.4 * max(len(wrong), 1), 2.6), squeeze=False)
        if len(wrong):
            mels = log_mel(
                pre.transform(self.serving_input(data)[wrong]), pre.sample_rate, self.n_fft, self.hop, self.n_mels
            )
            for ax, i, m in zip(axes[0], wrong, mels):
                ax.imshow(m, origin="lower", aspect="auto", cmap="magma")
                ax.set_title(f"#{i}: {classes[y[i]]}→{classes[pred[i]]}", fontsize=8)
                ax.set(xlabel="frame", ylabel="mel band")
        else:
            axes[0, 0].text(0.5, 0.5, "no misclassified test clip", ha="center", va="center")
            axes[0, 0].axis("off")
        fig.suptitle("Misclassified test clips (actual→predicted): log-mel spectrograms", fontsize=9)
        fig.tight_layout()
        fig.savefig(out / "misclassified.png", dpi=100)
        plt.close(fig)

    def explain(self, net: torch.nn.Module, data: Prepared, out: Path) -> None:
        """Integrated Gradients of each clip's true class on the log-mel input, from the log-mel of silence."""
        (x, y), pre = data.arrays("test"), data.preprocessor()
        rows = ex.first_per_class(y, 1)
        with torch.inference_mode():
            mels = net.features(torch.from_numpy(x[rows])).numpy()
            silence = net.features(torch.zeros(1, x.shape[1])).numpy()
        attr = ex.integrated_gradients(net.body, mels, silence, y[rows])  # (clips, n_mels, frames)
        pred = forward(net, x[rows]).argmax(1)
        classes = np.asarray(pre.classes, dtype=object)
        titles = [f"{classes[a]}→{classes[p]}" for a, p in zip(y[rows], pred)]
        ex.image_grid(mels[:, ::-1], attr[:, ::-1], titles, out / "attributions.png", per_row=min(len(rows), 6))
        edges = band_edges(pre.sample_rate, attr.shape[1])
        per_band = np.abs(attr).mean((0, 2))
        bands = [
            {"band": f"{b:02d}: {edges[b]:.0f}-{edges[b + 2]:.0f} Hz", "attribution": float(v)}
            for b, v in enumerate(per_band)
        ]
        plot_data.write_rows(out / "bands.json", bands)
        top = max(bands, key=lambda r: r["attribution"])
        ex.write_summary(
            out,
            f"attribution maps of {len(rows)} test clips ({int((pred == y[rows]).sum())} classified correctly); "
            f"most attributed mel band {top['band']}",
            clips=len(rows),
            top_bands=[r["band"] for r in sorted(bands, key=lambda r: -r["attribution"])[:5]],
        )
