"""DDP on the CPU (gloo) through the real entry points: self-launched, 2 "nodes" on localhost,
inside a Hydra multirun, and as a DVC stage. Every side effect must happen exactly once.

Each run happens in its own temp working directory, so any stray folder (outputs/, multirun/,
lightning_logs/, .hydra/) would show up there.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from conftest import ROOT, copy_repo, run_stage, work_overrides
from conftest import mlflow_runs as _runs
from conftest import sh as _run
from dlforge.errors import UserError
from services import free_port

# Same global batch, seed and data: 2 processes differ from 1 only by float reduction order and
# the wrap-around padding of the last batch. Stated tolerance on the final validation loss:
VAL_LOSS_TOLERANCE = 0.01
EXPECTED = {"tiny.csv", "data", "models", "reports", "mlflow.db", "mlruns"}  # reports: train's DVC curves


def _overrides(tmp: Path, name: str, *extra: str) -> list[str]:
    # dropout masks are drawn per process: without dropout the 1- and 2-process runs are comparable
    return work_overrides(
        tmp, name, "model.net.dropout=0.0", "trainer.max_epochs=4", "callbacks.early_stopping=null", *extra
    )


@pytest.mark.e2e  # several processes: not in make test-fast
def test_two_process_ddp_matches_one_process_and_has_one_of_everything(work: Path):
    single = _run([sys.executable, "-m", "pipelines.train", *_overrides(work, "single")], work)
    ddp = _run([sys.executable, "-m", "pipelines.train", *_overrides(work, "ddp", "trainer=ddp_cpu")], work)
    assert "on 2 process(es)" in ddp.stdout and "on 1 process(es)" in single.stdout

    runs = _runs(work, "ddp")
    assert len(runs) == 1  # one MLflow run for two processes
    run = runs[0]
    assert json.loads((work / "models/ddp/run.json").read_text())["run_id"] == run.info.run_id
    assert sorted(p.name for p in (work / "models/ddp").iterdir()) == ["model.pt", "run.json"]
    assert (
        len(MlflowClient(f"sqlite:///{work}/mlflow.db").get_metric_history(run.info.run_id, "val_loss")) == 4
    )  # logged once per epoch
    assert run.data.params["trainer/devices"] == "2" and run.data.params["train/batch_size"] == "64"

    single_loss = _runs(work, "single")[0].data.metrics["val_loss"]
    assert abs(run.data.metrics["val_loss"] - single_loss) < VAL_LOSS_TOLERANCE
    assert {p.name for p in work.iterdir()} == EXPECTED

    # The checkpoint loads on one process and predicts like the trained model.
    import torch

    from dlforge.models.export import load_net

    net = load_net(work / "models/ddp/model.pt")
    assert net(torch.zeros(3, 5)).shape == (3, 2)


def test_batch_that_does_not_divide_fails_before_launch(work: Path, capsys):
    code, lines = run_stage("train", _overrides(work, "odd", "trainer=ddp_cpu", "train.batch_size=63"), capsys)
    assert code == 2
    assert lines == ["error: config key 'train.batch_size': the global batch 63 does not divide over 2 processes"]
    assert not (work / "models").exists()


@pytest.mark.e2e  # several processes: not in make test-fast
def test_two_nodes_on_localhost_with_torchrun(work: Path):
    port = free_port()
    common = [
        "--nnodes=2",
        "--nproc-per-node=1",
        "--rdzv-backend=c10d",
        f"--rdzv-endpoint=127.0.0.1:{port}",
        "--rdzv-id=dlforge-test",
    ]
    args = [
        "-m",
        "pipelines.train",
        *_overrides(
            work,
            "nodes",
            "trainer=multinode",
            "trainer.accelerator=cpu",
            "trainer.devices=1",
            "trainer.num_nodes=2",
            "trainer.precision=32",
        ),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MLFLOW_TRACKING_URI", None)
    nodes = [
        subprocess.Popen(
            [sys.executable, "-m", "torch.distributed.run", *common, f"--node-rank={rank}", *args],
            cwd=work,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in (0, 1)
    ]
    try:
        outputs = [n.communicate(timeout=300)[0] for n in nodes]
    finally:
        for n in nodes:
            n.kill()
    assert [n.returncode for n in nodes] == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
    assert sum("on 2 process(es)" in o for o in outputs) == 1  # only global rank 0 reports and writes
    runs = _runs(work, "nodes")
    assert len(runs) == 1
    assert json.loads((work / "models/nodes/run.json").read_text())["run_id"] == runs[0].info.run_id
    assert {p.name for p in work.iterdir()} == EXPECTED


@pytest.mark.e2e  # several processes: not in make test-fast
def test_multirun_with_ddp_trials_gives_one_run_per_trial(work: Path):
    sweep = work / "sweep"
    result = _run(
        [
            sys.executable,
            "-m",
            "pipelines.train",
            "-m",
            *_overrides(work, "sweep", "trainer=ddp_cpu", "trainer.max_epochs=2"),
            "model.optimizer.lr=0.001,0.01",
            f"hydra.sweep.dir={sweep}",
        ],
        work,
        timeout=400,
    )
    assert len(re.findall(r"on 2 process\(es\)", result.stdout)) == 2
    runs = _runs(work, "sweep")
    (parent,) = [r for r in runs if r.data.tags.get("dlforge.sweep") == "true"]
    trials = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(runs) == 3  # one parent, one run per trial (not per process)
    assert sorted(r.data.params["model/optimizer/lr"] for r in trials) == ["0.001", "0.01"]
    assert {p.name for p in work.iterdir()} == EXPECTED - {"models", "reports"} | {
        "sweep"
    }  # trial outputs stay in the sweep dir
    assert not list(sweep.rglob(".hydra"))
    assert sorted(p.name for p in sweep.glob("*/model")) == ["model", "model"]


@pytest.mark.e2e
def test_ddp_as_a_dvc_stage(tmp_path: Path):
    copy_repo(tmp_path)
    # The CNN use case: BatchNorm under CPU DDP too. The experiment chooses the trainer; `make dvc-sync`
    # writes that choice into dvc.yaml (the stage then tracks conf/trainer/ddp_cpu.yaml).
    experiment = tmp_path / "conf/experiment/digits.yaml"
    text = experiment.read_text()
    assert "  - override /task: image_classification\n" in text and "max_epochs: 40" in text
    experiment.write_text(
        text.replace(
            "  - override /task: image_classification\n",
            "  - override /task: image_classification\n  - override /trainer: ddp_cpu\n",
        ).replace("max_epochs: 40", "max_epochs: 3")
    )
    _run([sys.executable, "-m", "tools.dvc_sync", "--write"], tmp_path)
    assert (
        "digits: {data: digits, model: cnn, task: image_classification, trainer: ddp_cpu,"
        in (tmp_path / "dvc.yaml").read_text()
    )
    result = _run(["dvc", "repro", "train@digits"], tmp_path, timeout=400)
    assert "on 2 process(es)" in result.stdout
    assert len(_runs(tmp_path, "digits")) == 1
    assert "train@digits" not in _run(["dvc", "status", "train@digits"], tmp_path).stdout
    assert sorted(p.name for p in (tmp_path / "models/digits").iterdir()) == ["model.pt", "run.json"]


def test_slurm_sweep_launcher_runs_one_task_per_device():
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(
            "config",
            overrides=[
                "experiment=digits",
                "trainer=multinode",
                "trainer.devices=4",
                "trainer.num_nodes=3",
                "hydra/launcher=slurm",
            ],
            return_hydra_config=True,
        )
    launcher = cfg.hydra.launcher
    assert launcher._target_ == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    assert (launcher.nodes, launcher.tasks_per_node, launcher.gpus_per_node) == (3, 4, 4)


def test_srun_and_torchrun_processes_train_directly(monkeypatch):
    from omegaconf import OmegaConf

    from dlforge import distributed

    trainer = OmegaConf.create({"devices": 4, "num_nodes": 2, "strategy": "ddp"})
    with pytest.raises(UserError, match="need an external launcher"):
        distributed.needs_launch(trainer, 64)
    monkeypatch.setenv("SLURM_NTASKS", "8")
    monkeypatch.setenv("SLURM_JOB_NAME", "dlforge-train")
    assert distributed.needs_launch(trainer, 64) is False
