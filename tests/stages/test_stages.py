"""Each stage on tiny data through its real `run(cfg)`: real Lightning, real MLflow (SQLite in tmp)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from conftest import ROOT, tiny_overrides, work_overrides
from dlforge.data import prepared as prepared_data
from dlforge.errors import UserError
from dlforge.tasks.tuned import FIT_SECONDS
from pipelines import evaluate, prepare, register, train


@pytest.fixture
def tiny(make_cfg, tiny_csv):
    return lambda *extra: make_cfg(*tiny_overrides(tiny_csv), *extra)


def test_prepare_writes_splits_and_fitted_preprocessing(tiny, tmp_path):
    sizes = prepare.run(tiny())
    assert sizes == {"train": 280, "val": 60, "test": 60}
    out = tmp_path / "data" / "tiny"
    meta = json.loads((out / "meta.json").read_text())
    assert meta["net"] == {"in_shape": [5], "num_classes": 2} and meta["module"] == {"num_classes": 2}
    assert json.loads((out / "preprocess.json").read_text())["classes"] == ["neg", "pos"]
    f = {a: np.load(out / f"train_{a}.npy") for a in "xyt"}  # the prepared arrays (dlforge.data.prepared)
    assert f["x"].shape == (280, 5) and f["x"].dtype == np.float32 and f["y"].dtype == np.int64
    assert abs(f["x"][:, 0].mean()) < 1e-5  # standardised with train statistics
    raw = pd.read_parquet(out / "test_raw.parquet")
    assert list(raw.columns) == ["x1", "x2", "kind"] and len(raw) == 60
    assert not list((tmp_path / "data").glob(".*"))  # no temp folders left behind


def test_served_preprocessing_rebuilds_the_training_arrays(tiny, tmp_path):
    """Columns listed out of alphabetical order: the stored (sorted-key) JSON must not reorder features."""
    prepare.run(tiny("data.numeric=[x2,x1]"))
    data = prepared_data.load(tmp_path / "data" / "tiny")
    for split in ("train", "test"):
        assert np.array_equal(data.preprocessor().transform(data.raw(split)), data.arrays(split)[0])


def test_prepare_imports_neither_torch_nor_lightning(make_cfg, tmp_path):
    code = (
        "import sys; from hydra import compose, initialize_config_dir; import dlforge.config.schema; "
        "from pipelines import prepare; "
        f"initialize_config_dir(config_dir='{ROOT / 'conf'}', version_base='1.3'); "
        f"prepare.run(compose('config', overrides=['experiment=digits', 'paths.prepared={tmp_path}/p'])); "
        "print(sorted(m for m in ('torch', 'pytorch_lightning', 'lightning') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_bad_data_fails_without_outputs(make_cfg, tiny_csv, tmp_path):
    df = pd.read_csv(tiny_csv)
    df.loc[11, "x2"] = np.nan
    df.to_csv(tiny_csv, index=False)
    with pytest.raises(UserError, match=r"data 'tiny': .*tiny.csv line 13, column 'x2': missing value"):
        prepare.run(make_cfg(*tiny_overrides(tiny_csv)))
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())


def test_train_evaluate_register_track_everything_in_one_run(tiny, tmp_path, mlflow_db):
    cfg = tiny()
    prepare.run(cfg)
    train.run(cfg)
    ref = json.loads((tmp_path / "models/tiny/run.json").read_text())
    client = MlflowClient(cfg.tracking.uri)
    run = client.get_run(ref["run_id"])
    assert run.data.params["model/net/hidden"] == str(list(cfg.model.net.hidden))  # the composed config, as params
    assert run.data.tags["dlforge.git_commit"] and run.data.tags["dlforge.git_dirty"] in ("true", "false")
    assert len(run.data.tags["dlforge.data_hash"]) == 64
    assert len(client.get_metric_history(run.info.run_id, "val_loss")) == 3  # one point per epoch
    assert len(client.get_metric_history(run.info.run_id, "train_loss")) == 3
    assert "config.yaml" in [a.path for a in client.list_artifacts(run.info.run_id)]

    metrics = evaluate.run(cfg)
    assert set(metrics) == {"model", "baseline", "boosted_trees"}  # LR and the strongest classical method
    for method in ("baseline", "boosted_trees"):  # each baseline: the model's metrics plus its fit time
        assert metrics[method].keys() - {FIT_SECONDS} == metrics["model"].keys() and metrics[method][FIT_SECONDS] > 0
    assert metrics["baseline"]["roc_auc"] > 0.75  # the tiny problem is learnable
    on_disk = json.loads((tmp_path / "reports/tiny/metrics.json").read_text())
    assert on_disk == metrics
    run = client.get_run(ref["run_id"])
    assert run.data.metrics["test_pr_auc"] == metrics["model"]["pr_auc"]
    assert run.data.metrics["baseline_test_pr_auc"] == metrics["baseline"]["pr_auc"]
    plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert {"plots/roc.png", "plots/pr.png", "plots/confusion.png"} <= plots

    record = register.run(cfg)
    assert record["promoted"] and record["version"] == 1 and record["champion_version"] == 1
    assert json.loads((tmp_path / "reports/tiny/registry.json").read_text())["promoted"] is True
    version = client.get_model_version_by_alias("tiny", "champion")
    assert int(version.version) == 1 and version.run_id == ref["run_id"]
    assert (
        version.tags["dlforge.gate.promoted"] == "true"
        and version.tags["dlforge.data_hash"] == run.data.tags["dlforge.data_hash"]
    )

    mlflow.set_tracking_uri(cfg.tracking.uri)
    model = mlflow.pyfunc.load_model("models:/tiny@champion")
    out = model.predict(pd.DataFrame({"x1": [3.0, -3.0], "x2": [0.0, 0.0], "kind": ["a", "b"]}))
    assert out["label"].tolist() == ["pos", "neg"]
    assert np.allclose(out[["proba_neg", "proba_pos"]].sum(axis=1), 1.0)
    with pytest.raises(mlflow.exceptions.MlflowException):
        model.predict(pd.DataFrame({"x1": [1.0], "x2": [0.0], "kind": ["zzz"]}))

    # A worse challenger (an untrained network) leaves the champion in place.
    worse = tiny("model.optimizer.lr=0.0")
    train.run(worse)
    evaluate.run(worse)
    record = register.run(worse)
    assert not record["promoted"] and record["version"] == 2 and record["champion_version"] == 1
    assert int(client.get_model_version_by_alias("tiny", "champion").version) == 1
    assert int(client.get_model_version_by_alias("tiny", "challenger").version) == 2


def test_register_rejects_unknown_gate_metric_before_registering(tiny, tmp_path, mlflow_db):
    cfg = tiny()
    prepare.run(cfg)
    train.run(cfg)
    evaluate.run(cfg)
    with pytest.raises(UserError, match="'register.gate.metric': 'rmse' is not a metric of this task"):
        register.run(tiny("register.gate.metric=rmse"))
    assert MlflowClient(cfg.tracking.uri).search_registered_models() == []
    assert not (tmp_path / "reports/tiny/registry.json").exists()


def test_same_seed_same_metrics_without_tracking(tiny, tmp_path):
    cfg = tiny("logger=none")
    prepare.run(cfg)
    first, second = train.run(cfg), train.run(cfg)
    assert first == second
    assert json.loads((tmp_path / "models/tiny/run.json").read_text())["run_id"] is None
    assert not (tmp_path / "mlflow.db").exists()
    assert train.run(tiny("logger=none", "seed=7")) != first


# What Lightning printed on every train stage and says nothing to its user (dlforge.models.build.quiet).
NOISE = ("Tip:", "litlogger", "exists and is not empty", "LeafSpec")


@pytest.mark.slow
def test_the_train_stage_prints_no_known_noise_and_real_warnings_still_show(work):
    """The real entry point, with a logging interval longer than the epoch: Lightning's warning about it
    is a real one (the curves would have no points) and must reach the user."""
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PYTHONPATH"] = str(ROOT)
    cmd = [sys.executable, "-m", "pipelines.train", *work_overrides(work, "quiet", "trainer.log_every_n_steps=50")]
    done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=600)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert not [n for n in NOISE if n in out], out[-3000:]
    assert "smaller than the logging interval" in out


def test_quiet_hides_only_the_known_messages():
    import logging
    import warnings

    from dlforge.models.build import quiet

    quiet()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("default")
        quiet()  # the filters go in front again inside this block
        warnings.warn("Checkpoint directory /x exists and is not empty.", UserWarning, stacklevel=1)
        warnings.warn("something the user must see", UserWarning, stacklevel=1)
    assert [str(w.message) for w in seen] == ["something the user must see"]
    info = logging.getLogger("pytorch_lightning.utilities.rank_zero")
    records = [
        logging.LogRecord(info.name, logging.INFO, "", 0, m, None, None) for m in ("💡 Tip: try x", "GPU available")
    ]
    assert [r.msg for r in records if info.filter(r)] == ["GPU available"]
