"""Image generation: a served generator answers (seed, label) requests with images; judged by a frozen classifier.

Requests are one row per held-out real test image, asking for that image's label (noise from the
row's seed), so generated and real images pair up row by row for the registry's paired bootstrap.
Metrics, all from the frozen judge fitted at prepare time (dlforge.data.families.image_generation):
    fd          Fréchet distance between the judge's penultimate features of generated and real
                test images (lower is better; the gate metric)
    confidence  the judge's mean top-class probability on the generated images
    accuracy    share of generated images the judge assigns to the requested label (about chance,
                0.1 for digits, for an unconditional generator)
Baselines on the same rows: uniform noise, Gaussian noise with the train pixels' mean and std,
real train images of the requested label blurred with a Gaussian filter, a class-conditional
Gaussian mixture on the train images' PCA components (`gmm_pca`: the classical generative model; its
number of mixture components chosen by FD against the val images), and the same real train images
unblurred (the floor a generator that memorised its training set would reach).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torchmetrics.functional.classification import multiclass_accuracy

from dlforge import keys as K
from dlforge.data import prepared as prepared_data
from dlforge.data.prepared import Prepared
from dlforge.data.preprocess import Preprocessor
from dlforge.errors import UserError
from dlforge.models.nets.dcgan import Judge, frechet_distance, tile
from dlforge.tasks import explain as ex
from dlforge.tasks.base import Serving, Task


class GenerationServing(Serving):
    """The served generator: (seed, label) requests → one image each, (n, H, W) in raw pixel units."""

    @staticmethod
    def predict(net: torch.nn.Module, pre: Preprocessor, raw: Any, batch_size: int = 1024) -> np.ndarray:
        seeds, labels = pre.requests(raw)
        with torch.inference_mode():
            parts = [
                net.sample(seeds[i : i + batch_size], labels[i : i + batch_size]).cpu().numpy()
                for i in range(0, len(seeds), batch_size)
            ]
        return pre.to_pixels(np.concatenate(parts) if parts else np.zeros((0, 1, *pre.shape)))

    @staticmethod
    def format_output(pred: np.ndarray, pre: Preprocessor) -> np.ndarray:
        """The served answer: one image per request, shape (n, H, W), pixels in [0, max_value]."""
        return pred.astype(np.float32)

    @staticmethod
    def pred_from_output(output: Any, pre: Preprocessor) -> np.ndarray:
        return np.asarray(output, dtype=np.float64).reshape(-1, *pre.shape)


class Generation(Task):
    """Predictions are images (n, H, W) in raw pixel units; the reference is a record array of real test images and labels."""

    serving = GenerationServing

    metric_names = ["fd", "confidence", "accuracy"]

    def __init__(
        self,
        prepared: str,
        first_seed: int = 0,
        blur_sigma: float = 1.0,
        seed: int = 0,
        per_class: int = 8,
        gmm: dict[str, Any] | None = None,
    ):
        self.prepared = prepared  # the prepared folder: its extras hold the frozen judge
        self.gmm = dict(gmm) if gmm else None  # pca_components, components (the val grid); None: left out
        self.first_seed, self.blur_sigma, self.seed, self.per_class = first_seed, blur_sigma, seed, per_class

    @cached_property
    def judge(self) -> Judge:
        return Judge(prepared_data.load(self.prepared).extras())

    def serving_input(self, data: Prepared) -> pd.DataFrame:
        labels = np.asarray(data.preprocessor().classes)[data.targets("test")]
        return pd.DataFrame({"seed": self.first_seed + np.arange(len(labels), dtype=np.int64), "label": labels})

    def reference(self, data: Prepared) -> np.ndarray:
        """Real test images with their labels, one record per request row (the gate resamples rows of both)."""
        images, labels = data.raw("test"), data.targets("test")
        ref = np.zeros(len(labels), dtype=[("image", np.float64, images.shape[1:]), ("label", np.int64)])
        ref["image"], ref["label"] = images, labels
        return ref

    def strata(self, data: Prepared) -> np.ndarray:
        return data.targets("test")

    def metric(self, name: str, pred: np.ndarray, ref: np.ndarray) -> float:
        if name == "fd":
            return round(frechet_distance(self.judge, pred, ref["image"]), 6)
        with torch.inference_mode():
            proba = self.judge.proba(torch.as_tensor(pred, dtype=torch.float64))
        if name == "confidence":
            return round(float(proba.max(1).values.mean()), 6)
        if name == "accuracy":
            return round(
                float(
                    multiclass_accuracy(
                        proba, torch.as_tensor(ref["label"]), num_classes=proba.shape[1], average="micro"
                    )
                ),
                6,
            )
        raise UserError(f"generation has no metric '{name}' (has: {', '.join(self.metric_names)})")

    def baselines(self, data: Prepared) -> dict[str, np.ndarray]:
        """Noise and real train images of each requested label (blurred, and as they are: the floor), same rows as the test requests."""
        from scipy.ndimage import gaussian_filter

        rng = np.random.default_rng(self.seed)
        train, train_labels, labels = data.raw("train").astype(np.float64), data.targets("train"), data.targets("test")
        shape, top = (len(labels), *train.shape[1:]), data.preprocessor().max_value
        real = train[[rng.choice(np.flatnonzero(train_labels == c)) for c in labels]]
        out = {
            "uniform_noise": rng.uniform(0, top, shape),
            "gaussian_noise": np.clip(rng.normal(train.mean(0), train.std(0), shape), 0, top),
            "blurred_train": gaussian_filter(real, sigma=(0, self.blur_sigma, self.blur_sigma)),
        }
        if self.gmm:
            with self.timer("gmm_pca"):
                out["gmm_pca"] = self._gmm(data, train, train_labels, labels, top)
        return {**out, K.FLOOR + "real_train": real}  # floor_*: not a baseline, what a perfect generator would score

    def _gmm(self, data: Prepared, train: np.ndarray, train_labels: np.ndarray, labels: np.ndarray, top: float):
        """Images for `labels` from a Gaussian mixture per class on the train images' PCA components; the
        number of mixture components with the lowest FD against the val images (same labels) is kept."""
        from sklearn.decomposition import PCA
        from sklearn.mixture import GaussianMixture

        flat = train.reshape(len(train), -1)
        pca = PCA(self.gmm["pca_components"], random_state=self.seed).fit(flat)
        codes = pca.transform(flat)

        def sample(n_components: int, wanted: np.ndarray) -> np.ndarray:
            images = np.zeros((len(wanted), flat.shape[1]))
            for c in np.unique(wanted):
                rows = np.flatnonzero(wanted == c)
                mix = GaussianMixture(n_components, random_state=self.seed).fit(codes[train_labels == c])
                drawn = mix.sample(len(rows))[0]  # grouped by mixture component: shuffled below
                images[rows] = pca.inverse_transform(drawn[np.random.default_rng(self.seed).permutation(len(rows))])
            return np.clip(images, 0, top).reshape(len(wanted), *train.shape[1:])

        val, val_labels = data.raw("val").astype(np.float64), data.targets("val")
        fd = {k: frechet_distance(self.judge, sample(k, val_labels), val) for k in self.gmm["components"]}
        return sample(min(fd, key=fd.get), labels)

    def explain(self, net: torch.nn.Module, data: Prepared, out: Path) -> None:
        """No attributions, on purpose: a generator's only inputs are random noise and the requested label,
        so attributing its pixels to them explains nothing about the data; what it learned shows in the
        sample grids (plots/) and the frozen judge's confidence and accuracy on its samples (metrics)."""
        ex.write_summary(
            out,
            "no attributions for a generator (inputs: noise and the requested label); see the sample grids "
            "and the judge's accuracy",
            explained=False,
        )

    def plots(self, preds: dict[str, np.ndarray], data: Prepared, out: Path) -> None:
        """samples_<name>.png for the model, each baseline and the real test images: one row per class."""
        from matplotlib.image import imsave

        labels, top = data.targets("test"), data.preprocessor().max_value
        rows = np.concatenate([np.flatnonzero(labels == c)[: self.per_class] for c in np.unique(labels)])
        for name, images in {**preds, "real_test": data.raw("test")}.items():
            imsave(
                out / f"samples_{name}.png",
                tile(np.asarray(images)[rows] / top, self.per_class),
                cmap="gray",
                vmin=0,
                vmax=1,
            )
