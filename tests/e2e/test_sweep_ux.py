"""Sweep UX: the Optuna sampler and pruner are config groups switched by a plain override, and a
multi-objective study records its Pareto front (real Hydra multirun, real Optuna, real MLflow)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import optuna
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from mlflow.tracking import MlflowClient

from conftest import CONF, mlflow_runs, sh, work_overrides


def _compose(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(
            "config",
            overrides=["experiment=credit_default", "hparams_search=credit_default", *overrides],
            return_hydra_config=True,
        )


def _sweeper(*overrides: str):
    return instantiate(_compose(*overrides).hydra.sweeper)


def test_default_sampler_and_pruner_come_from_their_groups():
    sweeper = _sweeper()
    assert isinstance(sweeper.sampler, optuna.samplers.TPESampler)
    assert isinstance(sweeper.pruner, optuna.pruners.MedianPruner)


@pytest.mark.parametrize(
    ("sampler", "pruner", "sampler_cls", "pruner_cls"),
    [
        ("random", "hyperband", optuna.samplers.RandomSampler, optuna.pruners.HyperbandPruner),
        ("qmc", "successive_halving", optuna.samplers.QMCSampler, optuna.pruners.SuccessiveHalvingPruner),
        ("nsgaii", "none", optuna.samplers.NSGAIISampler, optuna.pruners.NopPruner),
    ],
)
def test_sampler_and_pruner_switch_with_a_plain_override(sampler, pruner, sampler_cls, pruner_cls):
    sweeper = _sweeper(f"hydra/sweeper/sampler={sampler}", f"hydra/sweeper/pruner={pruner}", "hydra.sweeper.seed=7")
    assert type(sweeper.sampler) is sampler_cls and type(sweeper.pruner) is pruner_cls
    chosen = _compose(f"hydra/sweeper/sampler={sampler}", "hydra.sweeper.seed=7").hydra.sweeper.sampler
    assert chosen.seed == 7  # every sampler config reads the sweeper's seed


def test_a_pruner_on_a_multi_objective_study_is_refused():
    with pytest.raises(Exception, match="cannot prune a multi-objective study"):
        _sweeper("hydra.sweeper.objective=[best_val_loss,val_auroc]", "hydra.sweeper.direction=[minimize,maximize]")


@pytest.mark.slow  # a real multirun
def test_multi_objective_sweep_records_the_pareto_front(work: Path):
    args = work_overrides(
        work,
        "pareto",
        "hparams_search=credit_default_pareto",
        "hydra.sweeper.n_trials=2",
        f"hydra.sweeper.storage=sqlite:///{work}/optuna.db",
        "trainer.max_epochs=1",
        f"hydra.sweep.dir={work}/sweeps/pareto",
    )
    sh([sys.executable, "-m", "pipelines.train", "-m", *args], work, timeout=400)
    study = optuna.load_study(study_name="pareto_pareto", storage=f"sqlite:///{work}/optuna.db")
    assert [d.name for d in study.directions] == ["MINIMIZE", "MAXIMIZE"]
    assert [len(t.values) for t in study.trials] == [2, 2]
    (parent,) = [r for r in mlflow_runs(work, "pareto") if r.data.tags.get("dlforge.sweep") == "true"]
    tags = parent.data.tags
    assert tags["dlforge.sampler"] == "NSGAIISampler" and tags["dlforge.pruner"] == "NopPruner"
    assert tags["dlforge.objective"] == "minimize best_val_loss, maximize val_auroc"
    assert tags["dlforge.pareto_trials"] == ",".join(str(t.number) for t in study.best_trials)
    client = MlflowClient(f"sqlite:///{work}/mlflow.db")
    local = client.download_artifacts(parent.info.run_id, "optuna/pareto.json", str(work))
    front = json.loads(Path(local).read_text())
    assert {t["trial"] for t in front} == {t.number for t in study.best_trials}
    assert set(front[0]["values"]) == {"best_val_loss", "val_auroc"}


@pytest.mark.e2e  # a real server
def test_optuna_dashboard_serves_the_study_storage(tmp_path: Path):
    """`make dashboard` (optuna-dashboard on the sweeps' storage) lists a study and its trials."""
    import socket
    import subprocess
    import time
    import urllib.request

    storage = f"sqlite:///{tmp_path}/optuna.db"
    study = optuna.create_study(study_name="dash", storage=storage)
    study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=3)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).parent / "optuna-dashboard"
    server = subprocess.Popen(
        [str(exe), storage, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(60):
            try:
                answer = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=2).read())
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError("optuna-dashboard never answered")
        (listed,) = answer["study_summaries"]
        assert listed["study_name"] == "dash"
    finally:
        server.terminate()
        server.wait(timeout=10)
