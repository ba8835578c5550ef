"""The GAN use case through the real stages: conditional DCGAN on digits, frozen judge, Fréchet distance gate."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from mlflow.tracking import MlflowClient
from omegaconf import DictConfig

from conftest import CONF, empty_mlflow_db
from dlforge.data import prepared as prepared_data
from dlforge.errors import UserError
from pipelines import evaluate, prepare, register, train

FAST = ["trainer.max_epochs=2", "callbacks.progress_bar=null", "data.judge_max_iter=30"]


def gan_cfg(root: Path, *overrides: str) -> DictConfig:
    base = [
        f"paths.prepared={root}/data/${{name}}",
        f"paths.models={root}/models/${{name}}",
        f"paths.reports={root}/reports/${{name}}",
        f"tracking.uri=sqlite:///{root}/mlflow.db",
    ]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=[*base, "experiment=digits_gan", *FAST, *overrides])


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """digits_gan prepared once for the module (the judge fit is the slow part)."""
    root = tmp_path_factory.mktemp("gan")
    empty_mlflow_db(root / "mlflow.db")
    assert prepare.run(gan_cfg(root)) == {"train": 1257, "val": 270, "test": 270}
    return root


@pytest.mark.slow  # trains the GAN (Fréchet distance every epoch)
def test_digits_gan_end_to_end_serves_images_from_seed_and_label(root):
    cfg = gan_cfg(root)
    trained = train.run(cfg)
    assert np.isfinite(trained["best_val_fd"])
    run_id = json.loads((root / "models/digits_gan/run.json").read_text())["run_id"]
    client = MlflowClient(cfg.tracking.uri)
    assert len(client.get_metric_history(run_id, "val_fd")) == 2  # one Fréchet distance per epoch
    assert [a.path for a in client.list_artifacts(run_id, "samples")] == [
        "samples/epoch_000.png",
        "samples/epoch_001.png",
    ]

    metrics = evaluate.run(cfg)
    assert set(metrics) == {"model", "uniform_noise", "gaussian_noise", "blurred_train", "gmm_pca", "floor_real_train"}
    assert all(m.keys() - {"fit_seconds"} == {"fd", "confidence", "accuracy"} for m in metrics.values())
    assert metrics["gmm_pca"]["fd"] < metrics["gaussian_noise"]["fd"] and metrics["gmm_pca"]["fit_seconds"] > 0
    assert metrics["floor_real_train"]["fd"] < 0.1 * metrics["uniform_noise"]["fd"]  # real images are close, noise far
    assert metrics["floor_real_train"]["accuracy"] > 0.9 and metrics["uniform_noise"]["accuracy"] < 0.3
    plots = {a.path for a in client.list_artifacts(run_id, "plots")}
    assert {"plots/samples_model.png", "plots/samples_blurred_train.png", "plots/samples_real_test.png"} <= plots

    record = register.run(cfg)
    assert record["promoted"] and record["champion_version"] == 1 and record["metric"] == "fd"

    mlflow.set_tracking_uri(cfg.tracking.uri)
    model = mlflow.pyfunc.load_model("models:/digits_gan@champion")
    request = pd.DataFrame({"seed": [5, 5, 6], "label": [3, 3, 3]})
    images = np.asarray(model.predict(request))
    assert images.shape == (3, 8, 8) and images.min() >= 0 and images.max() <= 16
    assert np.array_equal(images, np.asarray(model.predict(request)))  # the same request, the same images, bit for bit
    assert (
        np.allclose(images[0], images[1], atol=1e-3) and np.abs(images[0] - images[2]).max() > 0.5
    )  # the seed fixes the image
    for bad in ({"seed": [1], "label": [11]}, {"seed": [-1], "label": [3]}):
        with pytest.raises(mlflow.exceptions.MlflowException, match="input: column"):
            model.predict(pd.DataFrame(bad))


@pytest.mark.slow  # trains the GAN (Fréchet distance every epoch)
def test_same_seed_same_generator(root):
    cfg = gan_cfg(
        root, "logger=none", "trainer.max_epochs=1", "name=digits_gan_repeat", f"paths.prepared={root}/data/digits_gan"
    )
    assert train.run(cfg) == train.run(cfg)


def test_frechet_distance_is_near_zero_for_real_images_and_large_for_noise(root):
    data = prepared_data.load(root / "data/digits_gan")
    task = instantiate(gan_cfg(root).task)
    ref, baselines = task.reference(data), task.baselines(data)
    assert task.metric("fd", ref["image"], ref) < 1e-6  # identical sets
    half = len(ref) // 2
    real_vs_real = task.metric("fd", ref["image"][:half], ref[half:])  # two halves of the real test images
    noise = task.metric("fd", baselines["uniform_noise"], ref)
    assert real_vs_real < 0.1 * noise and noise > 10
    blurs = []
    for sigma in (0.5, 1.0, 2.0):
        task.blur_sigma = sigma
        blurs.append(task.metric("fd", task.baselines(data)["blurred_train"], ref))
    assert blurs == sorted(blurs)  # more blur, further from real digits


def test_requests_are_checked_row_by_row(root):
    pre = prepared_data.load(root / "data/digits_gan").preprocessor()
    seeds, labels = pre.requests(pd.DataFrame({"seed": [0, 2**32 - 1], "label": [9, "4"]}))
    assert seeds.tolist() == [0, 2**32 - 1] and labels.tolist() == [9, 4]
    with pytest.raises(UserError, match="input: column 'seed' row 1: expected an integer"):
        pre.requests(pd.DataFrame({"seed": [0, 1.5], "label": [1, 1]}))
    with pytest.raises(UserError, match=r"input: column 'label' row 0: 10 is not one of \[0, 1"):
        pre.requests(pd.DataFrame({"seed": [0], "label": [10]}))
    with pytest.raises(UserError, match="input: missing column 'label'"):
        pre.requests(pd.DataFrame({"seed": [0]}))


@pytest.mark.slow  # prepares 5,000 MNIST images and fits their judge
def test_mnist_gan_is_selected_by_config_only(tmp_path):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            "config", overrides=["experiment=mnist_gan", f"paths.prepared={tmp_path}/p", "data.judge_max_iter=3"]
        )
    assert prepare.run(cfg) == {"train": 3500, "val": 750, "test": 750}
    data = prepared_data.load(tmp_path / "p")
    assert data.meta["net"] == {"in_shape": [1, 28, 28], "num_classes": 10} and data.extras()["judge_w0"].shape == (
        784,
        128,
    )
    gan = instantiate(cfg.model, net={**cfg.model.net, **data.meta["net"]}, **data.meta["module"])
    x, y = data.arrays("val")
    assert x.shape == (750, 1, 28, 28) and -1 <= x.min() and x.max() <= 1
    assert gan.net.sample(np.arange(4), y[:4]).shape == (4, 1, 28, 28)
    assert gan.discriminator(torch.from_numpy(x[:4]), torch.from_numpy(y[:4])).shape == (4,)


def test_unconditional_generator_ignores_labels():
    from dlforge.models.gan import GAN
    from dlforge.models.nets.dcgan import Discriminator, Generator

    gen = Generator([1, 8, 8], 10, latent_dim=8, channels=[16, 8], conditional=False).eval()
    gan = GAN(gen, lambda **shape: Discriminator(**shape, channels=[8, 16]), torch.optim.Adam)
    seeds = np.array([3, 3])
    images = gen.sample(seeds, np.array([0, 9]))
    assert images.shape == (2, 1, 8, 8) and torch.allclose(images[0], images[1], atol=1e-5)  # the label changes nothing
    assert gan.discriminator.labels == 0 and gan.discriminator(images, torch.tensor([0, 9])).shape == (2,)
    with pytest.raises(UserError, match="'model.net.channels': 3 blocks need an image side divisible by 8, got 28"):
        Generator([1, 28, 28], 10, latent_dim=8, channels=[16, 8, 4])
