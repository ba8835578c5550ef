"""Bring your own data: the example table (CSV and Parquet, classification and regression) and image
folder run end to end through the real stages; bad files stop prepare with one line naming the problem."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import ROOT, run_entry
from dlforge.data.sources.image_folder import image_folder
from dlforge.errors import UserError
from pipelines import evaluate, prepare, register, train

BYO = ROOT / "examples" / "byo"
QUIET = ["callbacks.progress_bar=null", "train.batch_size=32"]


def _stages(cfg) -> dict:
    prepare.run(cfg)
    train.run(cfg)
    metrics = evaluate.run(cfg)
    return {"metrics": metrics, "record": register.run(cfg)}


def _champion(cfg):
    mlflow.set_tracking_uri(cfg.tracking.uri)
    return mlflow.pyfunc.load_model(f"models:/{cfg.name}@champion")


PENGUINS = pd.DataFrame(  # a typical Gentoo male and Adelie female, as raw columns
    {
        "bill_depth_mm": [15.5, 17.9],
        "bill_length_mm": [49.5, 37.0],
        "flipper_length_mm": [222.0, 187.0],
        "island": ["Biscoe", "Dream"],
        "sex": ["male", "female"],
        "species": ["Gentoo", "Adelie"],
    }
)


@pytest.mark.slow  # trains 8-15 epochs; the Parquet case below is the quick end-to-end one
def test_tabular_classification_from_csv(make_cfg, tmp_path, mlflow_db):
    cfg = make_cfg(
        "experiment=byo_tabular",
        f"data.source.path={BYO / 'tabular.csv'}",
        "trainer.max_epochs=8",
        "model.optimizer.lr=0.01",
        *QUIET,
    )
    out = _stages(cfg)
    assert out["metrics"]["baseline"]["accuracy"] > 0.9 and out["metrics"]["model"]["accuracy"] > 0.8
    assert out["record"]["promoted"] and out["record"]["champion_version"] == 1
    served = _champion(cfg).predict(PENGUINS.drop(columns="species"))
    assert served["label"].tolist() == ["Gentoo", "Adelie"]
    assert np.allclose(served[["proba_Adelie", "proba_Chinstrap", "proba_Gentoo"]].sum(axis=1), 1.0)


def test_tabular_classification_from_parquet(make_cfg, tmp_path, mlflow_db):
    """Prepare through the real console entry point; the later stages are the same code in-process."""
    parquet = tmp_path / "penguins.parquet"
    pd.read_csv(BYO / "tabular.csv").to_parquet(parquet)
    cfg = make_cfg("experiment=byo_tabular", f"data.source.path={parquet}", "trainer.max_epochs=2", *QUIET)
    result = run_entry(
        "prepare", "experiment=byo_tabular", f"data.source.path={parquet}", f"paths.prepared={cfg.paths.prepared}"
    )
    assert result.returncode == 0 and "prepared byo_tabular: train=140, val=30, test=30" in result.stdout, (
        result.stderr[-3000:]
    )
    train.run(cfg)
    evaluate.run(cfg)
    assert register.run(cfg)["champion_version"] == 1
    served = _champion(cfg).predict(PENGUINS.drop(columns="species"))
    assert len(served) == 2 and set(served["label"]) <= {"Adelie", "Chinstrap", "Gentoo"}


@pytest.mark.slow  # trains 8-15 epochs; the Parquet case below is the quick end-to-end one
def test_tabular_regression_gate_prefers_lower_rmse(make_cfg, tmp_path, mlflow_db):
    base = ["experiment=byo_tabular_regression", f"data.source.path={BYO / 'tabular_regression.csv'}", *QUIET]
    untrained = make_cfg(*base, "model.optimizer.lr=0.0", "trainer.max_epochs=1")
    first = _stages(untrained)
    assert first["record"]["promoted"] and set(first["metrics"]["model"]) == {"mae", "rmse", "r2"}
    assert first["metrics"]["baseline"]["r2"] > 0.8  # body mass is close to linear in the measurements
    meta = json.loads((tmp_path / "data/byo_tabular_regression/meta.json").read_text())
    assert meta["net"] == {"in_shape": [8], "num_classes": 1} and meta["module"] == {}  # 3 numeric + 3 species + 2 sex
    out = tmp_path / "data/byo_tabular_regression"
    f = {a: np.load(out / f"train_{a}.npy") for a in "xyt"}  # the prepared arrays (dlforge.data.prepared)
    assert abs(f["y"].mean()) < 1e-5 and abs(f["y"].std() - 1) < 1e-5  # target standardised on train
    assert f["t"].mean() > 3000  # natural units (grams) kept for the metrics

    trained = make_cfg(*base, "trainer.max_epochs=15", "model.optimizer.lr=0.01")
    train.run(trained)
    metrics = evaluate.run(trained)
    record = register.run(trained)
    assert metrics["model"]["rmse"] < first["metrics"]["model"]["rmse"] and metrics["model"]["r2"] > 0.5
    assert record["promoted"] and record["champion_version"] == 2  # lower RMSE wins
    assert {p.name for p in (tmp_path / "reports/byo_tabular_regression/plots").iterdir()} == {
        "predicted_vs_actual.png",
        "residuals.png",
    }
    served = _champion(trained).predict(PENGUINS.drop(columns=["island"]))
    assert list(served.columns) == ["prediction"]
    gentoo, adelie = served["prediction"]
    assert 2500 < adelie < gentoo < 7000  # grams, and Gentoo males are the heaviest penguins


@pytest.mark.slow  # trains 8-15 epochs; the Parquet case below is the quick end-to-end one
def test_image_folder_end_to_end(make_cfg, tmp_path, mlflow_db):
    cfg = make_cfg(
        "experiment=byo_images",
        f"data.source.path={BYO / 'images'}",
        "trainer.max_epochs=10",
        "train.batch_size=16",
        "callbacks.progress_bar=null",
    )
    out = _stages(cfg)
    assert out["metrics"]["baseline"]["accuracy"] >= 0.8 and out["metrics"]["model"]["accuracy"] >= 0.6
    assert np.load(tmp_path / "data/byo_images/test_raw.npy").shape == (9, 8, 8)
    files = [BYO / "images/two/two_00.png", BYO / "images/zero/zero_19.jpg"]
    arrays = np.stack(
        [
            np.asarray(Image.open(f).convert("L").resize((8, 8), Image.Resampling.BILINEAR), dtype=np.float32)
            for f in files
        ]
    )
    served = _champion(cfg).predict(arrays)
    assert len(served) == 2 and set(served["label"]) <= {"zero", "one", "two"}
    assert np.allclose(served[["proba_zero", "proba_one", "proba_two"]].sum(axis=1), 1.0)


def test_image_folder_reads_png_and_jpeg_sorted():
    df = image_folder(str(BYO / "images"), [8, 8])
    assert df.shape == (60, 65) and df["label"].tolist() == ["one"] * 20 + ["two"] * 20 + ["zero"] * 20
    assert df.filter(like="p").to_numpy().max() <= 255 and df["p27"].dtype == np.uint8


def test_image_folder_errors_name_the_folder(tmp_path):
    with pytest.raises(UserError, match=f"folder '{tmp_path}/nope' does not exist"):
        image_folder(str(tmp_path / "nope"), [8, 8])
    with pytest.raises(UserError, match="has no class subfolders"):
        image_folder(str(tmp_path), [8, 8])
    (tmp_path / "cats").mkdir()
    (tmp_path / "cats" / "notes.txt").write_text("not an image")
    with pytest.raises(UserError, match=r"no .png/.jpg/.jpeg images in the class subfolders of .* \(cats\)"):
        image_folder(str(tmp_path), [8, 8])


def _fails_cleanly(tmp_path: Path, *args: str) -> str:
    result = run_entry("prepare", *args, f"paths.prepared={tmp_path}/p")
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert not (tmp_path / "p").exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".p")]
    return lines[0]


def test_missing_target_column_fails_without_output(tmp_path):
    csv = tmp_path / "no_target.csv"
    pd.read_csv(BYO / "tabular_regression.csv").drop(columns="body_mass_g").to_csv(csv, index=False)
    error = _fails_cleanly(tmp_path, "experiment=byo_tabular_regression", f"data.source.path={csv}")
    assert "missing column 'body_mass_g'" in error


def test_corrupt_image_fails_without_output(tmp_path):
    images = shutil.copytree(BYO / "images", tmp_path / "images")
    (images / "one" / "broken.png").write_bytes(b"\x89PNG not really")
    error = _fails_cleanly(tmp_path, "experiment=byo_images", f"data.source.path={images}")
    assert f"image '{images / 'one' / 'broken.png'}': not a readable image" in error


@pytest.mark.slow  # prepares 5,000 MNIST images
def test_mnist_by_config_prepares_28x28_images(make_cfg, tmp_path):
    cfg = make_cfg("experiment=mnist")
    assert cfg.model.net._target_.endswith("CNN") and cfg.task._target_.endswith("Classification")
    assert prepare.run(cfg) == {"train": 3500, "val": 750, "test": 750}
    out = tmp_path / "data/mnist"
    f = {a: np.load(out / f"train_{a}.npy") for a in "xyt"}  # the prepared arrays (dlforge.data.prepared)
    assert f["x"].shape == (3500, 1, 28, 28) and np.bincount(f["y"]).tolist() == [350] * 10
    assert np.load(out / "test_raw.npy").shape == (750, 28, 28)
    assert json.loads((out / "meta.json").read_text())["net"] == {"in_shape": [1, 28, 28], "num_classes": 10}
