"""MLflow 3 as designed, on the tiny pipeline in a real SQLite store: dataset inputs, system metrics,
metrics on the logged model, evaluate's metrics in one batch, the model card on every version."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from conftest import compose_tiny
from dlforge.io import tree_hash
from dlforge.registry import model_card
from dlforge.tasks.classification import Classification


@pytest.fixture(scope="module")
def store(tiny_registry) -> tuple[Path, MlflowClient]:
    root, uri = tiny_registry  # conftest.build_registry, once per session: v1 untrained, v2 trained
    return root, MlflowClient(uri)


def _latest_run(client: MlflowClient):
    exp = client.get_experiment_by_name("tiny")
    return client.search_runs([exp.experiment_id], order_by=["attributes.start_time DESC"])[0]


def test_training_run_logs_each_split_as_a_dataset_with_the_prepared_data_hash(store):
    root, client = store
    run = _latest_run(client)
    found = {
        next(t.value for t in d.tags if t.key == "mlflow.data.context"): d.dataset for d in run.inputs.dataset_inputs
    }
    assert sorted(found) == ["test", "train", "val"]
    data_hash = tree_hash(root / "data" / "tiny")
    assert run.data.tags["dlforge.data_hash"] == data_hash
    assert {d.digest for d in found.values()} == {data_hash[:36]}
    assert found["train"].name == "tiny-train" and json.loads(found["train"].profile)["features_shape"] == [280, 5]


def test_training_run_records_system_metrics(store):
    metrics = _latest_run(store[1]).data.metrics
    assert metrics["system/cpu_utilization_percentage"] >= 0
    assert metrics["system/system_memory_usage_megabytes"] > 0


def test_evaluate_logs_every_metric_in_one_batch_and_the_logged_model_carries_the_test_metrics(store):
    root, client = store
    run = _latest_run(client)
    reported = json.loads((root / "reports" / "tiny" / "metrics.json").read_text())
    keys = [f"test_{k}" for k in reported["model"]] + [f"baseline_test_{k}" for k in reported["baseline"]]
    history = {k: client.get_metric_history(run.info.run_id, k) for k in keys}
    assert all(len(h) == 1 for h in history.values())  # evaluate ran once for this run
    assert len({h[0].timestamp for h in history.values()}) == 1  # one log_batch: one timestamp for all
    (output,) = run.outputs.model_outputs
    model = client.get_logged_model(output.model_id)
    on_model = {m.key: m.value for m in model.metrics}
    assert on_model["test_pr_auc"] == pytest.approx(reported["model"]["pr_auc"])
    assert on_model["test_accuracy"] == pytest.approx(reported["model"]["accuracy"])


def test_the_logged_model_is_named_after_the_use_case_with_test_and_best_epoch_val_metrics(store):
    root, client = store
    run = _latest_run(client)
    (output,) = run.outputs.model_outputs
    model = client.get_logged_model(output.model_id)
    assert model.name == "tiny"
    reported = json.loads((root / "reports" / "tiny" / "metrics.json").read_text())["model"]
    val_keys = {k for k in run.data.metrics if k.startswith("val_")}
    assert sorted(m.key for m in model.metrics) == sorted({f"test_{k}" for k in reported} | val_keys)  # once each
    on_model = {m.key: m for m in model.metrics}
    assert {m.dataset_name for k, m in on_model.items() if k.startswith("test_")} == {"tiny-test"}
    assert {m.dataset_name for k, m in on_model.items() if k.startswith("val_")} == {"tiny-val"}
    best = json.loads((root / "models" / "tiny" / "run.json").read_text())["best_epoch"]
    curve = client.get_metric_history(run.info.run_id, "val_loss")
    assert best > 0 and len({m.step for m in curve}) > best  # not the first epoch, nor trivially the only one
    assert on_model["val_loss"].value == min(m.value for m in curve)  # the checkpoint's monitor: val_loss, min
    epochs = {m.step: m.value for m in client.get_metric_history(run.info.run_id, "epoch")}
    assert epochs[on_model["val_loss"].step] == best


def test_every_version_has_a_model_card(store):
    root, client = store
    registry = json.loads((root / "reports" / "tiny" / "registry.json").read_text())
    reported = json.loads((root / "reports" / "tiny" / "metrics.json").read_text())
    card = client.get_model_version("tiny", "2").description
    run = _latest_run(client)
    assert card.startswith("# tiny v2")
    row = next(line for line in card.splitlines() if line.startswith("| pr_auc |"))
    methods = ("model", "baseline", "boosted_trees")
    assert row == "| pr_auc | " + " | ".join(f"{reported[m]['pr_auc']:.4g}" for m in methods) + " |"
    assert f"[{registry['ci_low']:.4g}, {registry['ci_high']:.4g}] at 0.95 confidence" in card
    assert "promoted to champion" in card and "champion after this run: v2" in card
    headline = json.loads((root / "reports" / "tiny" / "explain" / "summary.json").read_text())["headline"]
    assert f"## Explanations\n{headline}" in card
    assert run.data.tags["dlforge.git_commit"] in card and run.data.tags["dlforge.data_hash"] in card
    assert 'mlflow.pyfunc.load_model("models:/tiny/2")' in card and "curl -s localhost:5001/invocations" in card
    body = card.split("-d '")[1].split("'\n")[0]
    assert json.loads(body)["dataframe_split"]["columns"] == ["x1", "x2", "kind"]
    assert "no champion" in client.get_model_version("tiny", "1").description  # v1's card: first champion


def test_evaluate_writes_the_rows_behind_every_declared_plot(store):
    root, _ = store
    curves = root / "reports" / "tiny" / "curves"
    for file, props in Classification.DATA_PLOTS.items():
        rows = json.loads((curves / file).read_text())
        wanted = {props["x"], *([props["y"]] if isinstance(props["y"], str) else props["y"])}
        assert rows and all(wanted <= set(r) for r in rows), file
    roc = json.loads((curves / "roc.json").read_text())
    assert roc[0]["fpr"] == 0 and roc[-1]["fpr"] == 1 and roc[-1]["model"] == 1  # ROC ends at (1, 1)
    assert len(json.loads((curves / "confusion.json").read_text())) == 60  # one row per test row
    methods = json.loads((curves / "methods.json").read_text())
    assert [m["method"] for m in methods] == ["model", "baseline", "boosted_trees"]


def test_training_curves_go_to_dvclive(store):
    training = Path(store[0]) / "reports" / "tiny" / "training"
    summary = json.loads((training / "metrics.json").read_text())
    assert summary["epoch"] == 7 and 0 < summary["val"]["loss"]  # the second build trains 8 epochs
    loss = pd.read_csv(training / "plots" / "metrics" / "val" / "loss.tsv", sep="\t")
    assert list(loss.columns) == ["step", "loss"] and len(loss) == 8


def test_model_card_stays_within_mlflows_limit_for_wide_requests():
    images = np.zeros((5, 28, 28))
    card = model_card.render(
        name="mnist",
        version=3,
        task="dlforge.tasks.classification.Classification",
        data={
            "source": "torchvision MNIST",
            "sizes": {"train": 1, "val": 1, "test": 1},
            "seed": 0,
            "val": 0.1,
            "test": 0.1,
        },
        metrics={"model": {"accuracy": 0.99}, "baseline": {"accuracy": 0.9}},
        gate={"metric": "accuracy", "higher_is_better": True, "promoted": False, "reason": "r", "champion_version": 2},
        lineage={"run_id": "abc"},
        history=[],
        requests=images,
    )
    assert len(card) <= model_card.MAX_CHARS and "serving_input_example.json" in card
    assert "gain interval: none" in card


def test_no_curves_no_dvclive_folder(tmp_path):
    from pipelines import prepare, train

    cfg = compose_tiny(
        tmp_path, f"sqlite:///{tmp_path}/mlflow.db", "curves=none", "logger=none", "trainer.max_epochs=1"
    )
    prepare.run(cfg)
    train.run(cfg)
    assert not (tmp_path / "reports" / "tiny" / "training").exists()


def test_dockerfile_for_the_champion_names_the_pinned_requirements(store, tmp_path):
    import mlflow

    from dlforge.cli import main
    from dlforge.registry.publish import _requirements

    root, client = store
    out = tmp_path / "image"
    assert main(["--tracking-uri", client.tracking_uri, "dockerfile", "tiny", str(out)]) == 0
    dockerfile = (out / "Dockerfile").read_text()
    assert f"pip install mlflow=={mlflow.__version__}" in dockerfile and "COPY model_dir /opt/ml/model" in dockerfile
    pinned = set((out / "model_dir" / "requirements.txt").read_text().split())
    assert set(_requirements()) <= pinned and "torch==2.13.0" in pinned
    assert "version: '2'" in (out / "model_dir" / "registered_model_meta").read_text()  # the champion, v2
    assert (out / "model_dir" / "code" / "dlforge" / "tasks" / "classification.py").exists()
    assert main(["--tracking-uri", client.tracking_uri, "dockerfile", "tiny", str(out)]) == 2  # never overwritten


def _docker_daemon() -> str | None:
    """None when a Docker daemon answers, else why not."""
    import shutil
    import subprocess

    if not shutil.which("docker"):
        return "no docker CLI"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True)
    return None if info.returncode == 0 else f"no Docker daemon answers `docker info`: {info.stderr.strip()[:120]}"


@pytest.mark.docker
def test_docker_image_of_the_champion_answers_a_request(store, tmp_path):
    """Build and run the image (needs a Docker daemon and network for pip): skipped, with the reason, without one."""
    import subprocess
    import urllib.request

    from dlforge.cli import main

    reason = _docker_daemon()
    if reason:
        pytest.skip(reason)
    root, client = store
    out = tmp_path / "image"
    assert main(["--tracking-uri", client.tracking_uri, "dockerfile", "tiny", str(out)]) == 0
    subprocess.run(["docker", "build", "-q", "-t", "dlforge-tiny-test", str(out)], check=True, timeout=1800)
    container = subprocess.run(
        ["docker", "run", "-d", "--rm", "-p", "127.0.0.1:5091:8080", "dlforge-tiny-test"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    try:
        body = (out / "model_dir" / "serving_input_example.json").read_bytes()
        for _ in range(120):
            try:
                request = urllib.request.Request(
                    "http://127.0.0.1:5091/invocations", body, {"Content-Type": "application/json"}
                )
                answer = json.loads(urllib.request.urlopen(request, timeout=5).read())
                break
            except OSError:
                time.sleep(1)
        else:
            raise AssertionError("the container never answered on /invocations")
        assert {r["label"] for r in answer["predictions"]} <= {"neg", "pos"}
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)


def _dvclive(folder: Path) -> dict:
    return {"_target_": "dvclive.lightning.DVCLiveLogger", "dir": str(folder), "save_dvc_exp": False, "dvcyaml": False}


def test_dvc_curves_folder_is_replaced_whole_or_left_alone(tmp_path):
    from dlforge.tracking.curves import Curves

    final = tmp_path / "training"
    good = Curves(tmp_path / "good.jsonl", 0, None, _dvclive(final))
    good.log_metrics({"val_loss": 0.5, "epoch": 0}, step=0)
    assert not final.exists()  # written when the fit ends
    good.finalize("success")
    good.finalize("success")  # Lightning may finalize twice: nothing partial is written
    assert json.loads((final / "metrics.json").read_text())["val"]["loss"] == 0.5
    assert not list(tmp_path.glob(".*"))
    failed = Curves(tmp_path / "failed.jsonl", 0, None, _dvclive(final))
    failed.log_metrics({"val_loss": 9.0, "epoch": 0}, step=0)
    failed.finalize("failed")
    failed.finalize("success")  # after "failed": still nothing written
    assert json.loads((final / "metrics.json").read_text())["val"]["loss"] == 0.5  # the last good curves stay
    assert not list(tmp_path.glob(".*"))


def test_dvc_curves_are_dvclives_own_files(tmp_path):
    """Every call goes to DVCLive's own Lightning logger when the fit ends: the TSV rows and metrics.json
    are those it writes when given each call as it comes (timestamps aside)."""
    import torch
    from dvclive.lightning import DVCLiveLogger as Stock

    from dlforge.tracking.curves import Curves

    calls = [({"val_loss": torch.tensor(0.5 - e / 10), "val_acc": 0.6 + e / 10, "epoch": e}, 7 * e) for e in range(3)]
    calls += [({"train_loss": 0.4 - e / 10, "epoch": e}, 7 * e + 6) for e in range(3)]
    stock = Stock(dir=str(tmp_path / "stock"), save_dvc_exp=False, dvcyaml=False, report=None)
    ours = Curves(tmp_path / "curves.jsonl", 0, None, {**_dvclive(tmp_path / "ours"), "report": None})
    for metrics, step in calls:
        stock.log_metrics(metrics, step=step, sync=True)
        ours.log_metrics(metrics, step=step)
    stock.finalize("success")
    ours.finalize("success")

    def files(root):
        return {
            p.relative_to(root).as_posix(): [line.split("\t")[1:] for line in p.read_text().splitlines()]
            for p in root.rglob("*.tsv")
        } | {"metrics.json": json.loads((root / "metrics.json").read_text())}

    written = files(tmp_path / "ours")
    assert written == files(tmp_path / "stock")
    assert len(written["plots/metrics/val/loss.tsv"]) == 4  # a header and one row per epoch


@pytest.mark.parametrize("sent_before_the_kill", [False, True])
def test_curves_go_to_mlflow_in_batches_and_a_kill_loses_none(tmp_path, sent_before_the_kill):
    """Points wait for `write_every_s` (or the fit's end) and are in the curves file as they are logged; a fit
    resumed after a kill keeps the file's completed epochs and sends what the run lacks, once. The
    interrupted epoch's calls are dropped (that epoch runs again)."""
    import mlflow

    from dlforge.tracking.curves import Curves
    from dlforge.tracking.training_run import TrainingRun

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(uri)
    path = tmp_path / "curves.jsonl"
    run = TrainingRun("curves", uri, "curves", system_metrics=False, write_every_s=3600)
    run.start({}, None, 0)
    killed = Curves(path, 0, run, None)
    killed.log_metrics({"val_loss": 0.5, "epoch": 0}, 3)
    killed.log_metrics({"train_loss": 0.55, "epoch": 0}, 3)
    killed.send()  # as when write_every_s has passed
    killed.log_metrics({"val_loss": 0.4, "epoch": 1}, 7)
    killed.log_metrics({"train_loss": 0.45, "epoch": 1}, 7)

    def history(key):
        return [(m.step, m.value) for m in client.get_metric_history(run.run_id, key)]

    assert history("val_loss") == [(3, 0.5)] and history("train_loss") == [(3, 0.55)]  # the rest waits
    if sent_before_the_kill:
        killed.send()
    killed.log_metrics({"val_loss": 0.35, "epoch": 2}, 11)  # epoch 2 is under way: no checkpoint has it
    mlflow.end_run()  # the process dies here; the re-run resumes from the checkpoint after epoch 1, into the same run
    resumed = Curves(path, 2, run, None)
    assert len(path.read_text().splitlines()) == 4  # epoch 2's call is gone from the file
    resumed.log_metrics({"val_loss": 0.3, "epoch": 2}, 11)
    resumed.finalize("success")
    assert history("val_loss") == [(3, 0.5), (7, 0.4), (11, 0.3)]
    assert history("train_loss") == [(3, 0.55), (7, 0.45)]


def test_a_curves_line_cut_short_by_a_kill_is_dropped_with_its_epoch_and_others_are_errors(tmp_path):
    from dlforge.tracking.curves import completed

    path = tmp_path / "curves.jsonl"
    whole = '{"step": 3, "time": 1, "metrics": {"val_loss": 0.5, "epoch": 0}}'
    path.write_text(whole + "\n" + whole[:20])
    assert [c["metrics"]["val_loss"] for c in completed(path, 1)] == [0.5]
    path.write_text(whole[:20] + "\n" + whole + "\n")
    with pytest.raises(ValueError, match=r"curves.jsonl:1: not a JSON line"):
        completed(path, 1)


def test_logger_keys_are_checked_against_the_training_runs_arguments(tmp_path):
    from dlforge.config.validate import check
    from dlforge.errors import UserError

    uri = f"sqlite:///{tmp_path}/db"
    with pytest.raises(UserError, match="'logger.experimnt_name': .* has no argument 'experimnt_name'"):
        check(compose_tiny(tmp_path, uri, "+logger.experimnt_name=x"), ["logger"])
    with pytest.raises(UserError, match="'logger.system_metrics_interval': expected float"):
        check(compose_tiny(tmp_path, uri, "logger.system_metrics_interval=fast"), ["logger"])
