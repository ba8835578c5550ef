"""Train resumes after SIGKILL: same weights and metrics as an uninterrupted run, same MLflow run.

The real entry point runs in a subprocess; DLFORGE_FAULT_AT stops it at a named point in the second
epoch (dlforge.kill_points) and the test SIGKILLs it there, then runs it again without the fault.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from mlflow.tracking import MlflowClient

from conftest import ROOT, empty_mlflow_db, work_overrides

pytestmark = pytest.mark.slow  # two to four training processes per test (seconds of start-up each): not make test-fast


def start(tmp: Path, name: str, *extra: str, fault: str | None = None, stage: str = "train", gan: bool = False):
    """The stage's real entry in a subprocess: the tiny use case, or digits_gan with `gan`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MLFLOW_TRACKING_URI", None)
    if fault:
        env.update(DLFORGE_FAULT_AT=fault, DLFORGE_FAULT_FILE=str(tmp / f"{name}.fault"))
    overrides = gan_overrides(tmp, name, *extra) if gan else work_overrides(tmp, name, *extra)
    cmd = [sys.executable, "-m", f"pipelines.{stage}", *overrides]
    return subprocess.Popen(cmd, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def gan_overrides(tmp: Path, name: str, *extra: str) -> list[str]:
    return [
        "experiment=digits_gan",
        f"name={name}",
        "data.judge_max_iter=30",
        "callbacks.progress_bar=null",
        f"paths.prepared={tmp}/data/gan",
        f"paths.models={tmp}/models/{name}",
        f"paths.checkpoints={tmp}/checkpoints/{name}",
        f"tracking.uri=sqlite:///{tmp}/mlflow.db",
        *extra,
    ]


def kill_at(proc: subprocess.Popen, marker: Path, timeout: float = 300) -> None:
    """Wait until the process reports it reached its fault point, then SIGKILL it there."""
    deadline = time.monotonic() + timeout
    while not marker.exists():
        assert proc.poll() is None, f"exited before the fault point:\n{proc.stdout.read()[-3000:]}"
        assert time.monotonic() < deadline, "fault point not reached"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    marker.unlink()


def finish(proc: subprocess.Popen) -> str:
    out = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0, out[-3000:]
    return out


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def final_metrics(client: MlflowClient, run_id: str) -> dict[str, float]:
    """The run's model metrics; `system/*` (CPU, memory samples of the machine) differ between any two runs."""
    return {k: v for k, v in client.get_run(run_id).data.metrics.items() if not k.startswith("system/")}


def curve(client: MlflowClient, run_id: str, key: str) -> list[tuple[int, float]]:
    return [(m.step, m.value) for m in client.get_metric_history(run_id, key)]


def dvc_curves(reports: Path) -> dict[str, list[str]]:
    """DVCLive's TSV rows of a train stage (steps and values; timestamps aside)."""
    return {
        p.relative_to(reports).as_posix(): [line.split("\t", 1)[1] for line in p.read_text().splitlines()]
        for p in sorted((reports / "training").rglob("*.tsv"))
    }


def run_id_of(tmp: Path, name: str) -> str:
    import json

    return json.loads((tmp / "models" / name / "run.json").read_text())["run_id"]


def test_killed_training_resumes_to_the_uninterrupted_result(work):
    extra = ("trainer.max_epochs=4", "callbacks.early_stopping=null")
    finish(start(work, "straight", *extra))

    killed = start(work, "resumed", *extra, fault="mid_epoch")
    kill_at(killed, work / "resumed.fault")
    [folder] = (work / "checkpoints" / "resumed").iterdir()
    assert (folder / "last.ckpt").is_file() and not (work / "models" / "resumed").exists()
    client = MlflowClient(f"sqlite:///{work}/mlflow.db")
    [left] = client.search_runs([client.get_experiment_by_name("resumed").experiment_id])
    assert left.info.status == "RUNNING"  # what a kill leaves; the re-run resumes into it

    out = finish(start(work, "resumed", *extra))
    assert "resumed from epoch 1" in out
    assert "exists and is not empty" not in out and "Tip:" not in out  # the resumable folder is meant to hold one
    a, b = weights(work / "models/straight/model.pt"), weights(work / "models/resumed/model.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), "weights differ after resume"
    assert run_id_of(work, "resumed") == left.info.run_id
    resumed = client.get_run(left.info.run_id)
    assert resumed.info.status == "FINISHED" and resumed.data.tags["dlforge.resumed_from_epoch"] == "1"
    straight = final_metrics(client, run_id_of(work, "straight"))
    assert straight == final_metrics(client, resumed.info.run_id)  # every final value, bit for bit
    for key in ("val_loss", "train_loss", "val_auroc"):  # whole curves: the epochs before the kill too
        assert curve(client, run_id_of(work, "straight"), key) == curve(client, resumed.info.run_id, key)
    assert len(curve(client, resumed.info.run_id, "val_loss")) == 4
    assert dvc_curves(work / "reports/straight") == dvc_curves(work / "reports/resumed")
    assert not (work / "checkpoints" / "resumed").exists(), "the checkpoint folder outlived a successful train"


def test_a_changed_config_does_not_resume(work):
    killed = start(work, "cfg", "trainer.max_epochs=4", fault="validation")
    kill_at(killed, work / "cfg.fault")
    out = finish(start(work, "cfg", "trainer.max_epochs=4", "model.optimizer.lr=0.003"))
    assert "resumed from epoch" not in out
    client = MlflowClient(f"sqlite:///{work}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("cfg").experiment_id])
    assert sorted(r.info.status for r in runs) == ["FINISHED", "KILLED"]  # the stale run closed at start
    [stale] = (work / "checkpoints" / "cfg").iterdir()  # the killed config's folder stays, for its own re-run
    assert (stale / "last.ckpt").is_file()


def test_a_killed_gan_resumes_to_the_uninterrupted_result(tmp_path):
    """Two optimisers, manual optimisation and the Fréchet-distance callback: still the same weights."""
    empty_mlflow_db(tmp_path / "mlflow.db")
    finish(start(tmp_path, "prep", stage="prepare", gan=True))
    finish(start(tmp_path, "straight", "trainer.max_epochs=3", gan=True))
    kill_at(start(tmp_path, "resumed", "trainer.max_epochs=3", fault="mid_epoch", gan=True), tmp_path / "resumed.fault")
    assert "resumed from epoch 1" in finish(start(tmp_path, "resumed", "trainer.max_epochs=3", gan=True))
    a, b = weights(tmp_path / "models/straight/model.pt"), weights(tmp_path / "models/resumed/model.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), "generator weights differ after resume"
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    metrics = [final_metrics(client, run_id_of(tmp_path, n)) for n in ("straight", "resumed")]
    assert metrics[0] == metrics[1]


def test_a_deleted_run_resumes_into_a_new_run_that_names_it(work):
    kill_at(start(work, "gone", "trainer.max_epochs=3", fault="mid_epoch"), work / "gone.fault")
    client = MlflowClient(f"sqlite:///{work}/mlflow.db")
    [left] = client.search_runs([client.get_experiment_by_name("gone").experiment_id])
    client.delete_run(left.info.run_id)
    assert "resumed from epoch 1" in finish(start(work, "gone", "trainer.max_epochs=3"))
    new = client.get_run(run_id_of(work, "gone"))
    assert new.info.run_id != left.info.run_id and new.info.status == "FINISHED"
    assert new.data.tags["dlforge.resumed_from_run"] == left.info.run_id
    assert new.data.tags["dlforge.resumed_from_epoch"] == "1"
