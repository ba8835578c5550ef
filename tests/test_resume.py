"""Train resumes after SIGKILL: same weights and metrics as an uninterrupted run, same MLflow run.

The real entry point runs in a subprocess; DLFORGE_FAULT_AT stops it at a named point in the second
epoch (dlforge.faults) and the test SIGKILLs it there, then runs it again without the fault.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from mlflow.tracking import MlflowClient

from conftest import ROOT, work_overrides


def start(tmp: Path, name: str, *extra: str, fault: str | None = None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MLFLOW_TRACKING_URI", None)
    if fault:
        env.update(DLFORGE_FAULT_AT=fault, DLFORGE_FAULT_FILE=str(tmp / f"{name}.fault"))
    cmd = [sys.executable, "-m", "pipelines.train", *work_overrides(tmp, name, *extra)]
    return subprocess.Popen(cmd, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


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
    return client.get_run(run_id).data.metrics


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
    a, b = weights(work / "models/straight/model.pt"), weights(work / "models/resumed/model.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), "weights differ after resume"
    assert run_id_of(work, "resumed") == left.info.run_id
    resumed = client.get_run(left.info.run_id)
    assert resumed.info.status == "FINISHED" and resumed.data.tags["dlforge.resumed_from_epoch"] == "1"
    straight = client.get_run(run_id_of(work, "straight")).data.metrics
    assert straight == resumed.data.metrics  # every final value, bit for bit
    assert not (work / "checkpoints" / "resumed").exists(), "the checkpoint folder outlived a successful train"


def test_a_changed_config_does_not_resume(work):
    killed = start(work, "cfg", "trainer.max_epochs=4", fault="validation")
    kill_at(killed, work / "cfg.fault")
    out = finish(start(work, "cfg", "trainer.max_epochs=4", "model.optimizer.lr=0.01"))
    assert "resumed from epoch" not in out
    client = MlflowClient(f"sqlite:///{work}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("cfg").experiment_id])
    assert sorted(r.info.status for r in runs) == ["FINISHED", "KILLED"]  # the stale run closed at start
    [stale] = (work / "checkpoints" / "cfg").iterdir()  # the killed config's folder stays, for its own re-run
    assert (stale / "last.ckpt").is_file()
