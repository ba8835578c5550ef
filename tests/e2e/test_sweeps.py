"""Sweeps through the real entry points: Hydra multirun, the dlforge Optuna sweeper (pruning, resume,
parallel trials), the winner written back and trained by `dvc repro`, and a DVC experiment queue."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml
from mlflow.tracking import MlflowClient
from sqlalchemy.engine import make_url

from conftest import ROOT, copy_repo, git_commit, mlflow_runs, sh, work_overrides
from dlforge.sweeps.storage import STORAGE_ENV, shown, to_connect
from dlforge.sweeps.study import PARENT_ATTR
from services import fresh_database


def _sweep(work: Path, name: str, *extra: str, timeout: int = 400):
    args = work_overrides(
        work,
        name,
        "trainer.max_epochs=3",
        "callbacks.early_stopping=null",
        f"hydra.sweep.dir={work}/sweeps/{name}",
        *extra,
    )
    return sh([sys.executable, "-m", "pipelines.train", "-m", *args], work, timeout=timeout)


def _optuna(work: Path, name: str, n_trials: int, *extra: str, timeout: int = 400):
    return _sweep(
        work,
        name,
        "hparams_search=credit_default",
        f"hydra.sweeper.n_trials={n_trials}",
        f"hydra.sweeper.storage=sqlite:///{work}/optuna.db",
        *extra,
        timeout=timeout,
    )


def _parent_and_children(work: Path, experiment: str) -> tuple:
    runs = mlflow_runs(work, experiment)
    parents = [r for r in runs if r.data.tags.get("dlforge.sweep") == "true"]
    assert len(parents) == 1
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    return parents[0], children


@pytest.mark.slow  # a real multirun: several trainings
def test_basic_multirun_groups_every_combination_under_one_parent(work: Path):
    _sweep(work, "grid", "model.optimizer.lr=0.001,0.01", "model.net.hidden=[16],[32]")
    parent, children = _parent_and_children(work, "grid")
    assert len(children) == 4 and len(mlflow_runs(work, "grid")) == 5
    combos = {(c.data.params["model/optimizer/lr"], c.data.params["model/net/hidden"]) for c in children}
    assert combos == {("0.001", "[16]"), ("0.001", "[32]"), ("0.01", "[16]"), ("0.01", "[32]")}
    assert sorted(c.data.tags["dlforge.trial"] for c in children) == ["0", "1", "2", "3"]
    assert all("model.optimizer.lr=" in c.data.tags["dlforge.overrides"] for c in children)
    assert all(c.info.status == "FINISHED" for c in [parent, *children])
    assert not (work / "models").exists()  # trials never write the pipeline's outputs


@pytest.mark.slow  # a real multirun: several trainings
def test_optuna_sweep_prunes_and_resumes(work: Path):
    _optuna(work, "tiny", 4)
    parent, children = _parent_and_children(work, "tiny")
    assert len(children) == 4
    assert sorted(int(c.data.tags["dlforge.trial"]) for c in children) == [0, 1, 2, 3]
    client = MlflowClient(f"sqlite:///{work}/mlflow.db")
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id, "optuna")}
    assert {"optuna/best.json", "optuna/optimization_history.png", "optuna/parallel_coordinate.png"} <= artifacts
    best = optuna.load_study(study_name="tiny", storage=f"sqlite:///{work}/optuna.db").best_trial
    assert parent.data.metrics["best_value"] == pytest.approx(best.value)
    assert parent.data.tags["best.model.optimizer.lr"] == str(best.params["model.optimizer.lr"])

    # Same command, more trials, a pruner that stops every trial at its first epoch (loss > 0):
    # the study resumes at trial 4 and records the pruned trials in Optuna and MLflow.
    _optuna(
        work,
        "tiny",
        6,
        "hydra.sweeper.pruner._target_=optuna.pruners.ThresholdPruner",
        "~hydra.sweeper.pruner.n_startup_trials",
        "hydra.sweeper.pruner.n_warmup_steps=0",
        "+hydra.sweeper.pruner.upper=0.0",
    )
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{work}/optuna.db")
    assert [(t.number, t.state.name) for t in study.trials][4:] == [(4, "PRUNED"), (5, "PRUNED")]
    same_parent, children = _parent_and_children(work, "tiny")
    assert same_parent.info.run_id == parent.info.run_id
    pruned = [c for c in children if c.data.tags.get("dlforge.trial_state") == "PRUNED"]
    assert sorted(c.data.tags["dlforge.trial"] for c in pruned) == ["4", "5"]
    assert all(
        c.info.status == "KILLED" and len(client.get_metric_history(c.info.run_id, "val_loss")) == 1 for c in pruned
    )


def _overlapping_one_thread_each(children: list) -> None:
    (a, b) = sorted(children, key=lambda r: r.info.start_time)[:2]
    assert b.info.start_time < a.info.end_time  # the second trial started before the first ended
    assert [c.data.tags["dlforge.torch_threads"] for c in children] == ["1"] * len(children)


@pytest.mark.slow  # a real multirun: several trainings
def test_joblib_launcher_runs_trials_in_parallel_on_one_torch_thread_each(work: Path, monkeypatch):
    # loky gives its workers the parent's OMP_NUM_THREADS (else cores // n_jobs): 2 here, so only
    # train.threads=1 reaching each worker's trial makes its torch use one thread
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    # ~5 s of training per trial, so the two workers' training overlaps even if one starts a second later
    _optuna(
        work, "par", 2, "hydra/launcher=parallel", "hydra.launcher.n_jobs=2", "trainer.max_epochs=60", "train.threads=1"
    )
    _, children = _parent_and_children(work, "par")
    assert len(children) == 2
    _overlapping_one_thread_each(children)


@pytest.mark.slow  # a real multirun on PostgreSQL, two trials at a time
def test_parallel_trials_share_a_postgresql_study_without_its_password_in_mlflow(work: Path):
    with fresh_database() as uri:
        password = make_url(uri).password
        out = _sweep(
            work,
            "pg",
            "hparams_search=credit_default",
            "hydra.sweeper.n_trials=4",
            f"hydra.sweeper.storage={uri}",
            "hydra/launcher=parallel",
            "hydra.launcher.n_jobs=2",
            "trainer.max_epochs=30",
            "train.threads=1",
        )
        trials = optuna.load_study(study_name="pg", storage=uri).trials
    assert [(t.number, t.state.name) for t in trials] == [(n, "COMPLETE") for n in range(4)]
    # every epoch reached its trial from the worker that trained it (pruning's channel)
    assert all(sorted(t.intermediate_values) == list(range(30)) for t in trials)
    parent, children = _parent_and_children(work, "pg")
    assert sorted(int(c.data.tags["dlforge.trial"]) for c in children) == [0, 1, 2, 3]
    assert parent.data.metrics["best_value"] == pytest.approx(min(t.value for t in trials))
    _overlapping_one_thread_each(children)
    client = MlflowClient(f"sqlite:///{work}/mlflow.db")
    stored = {c.data.params["sweep/storage"] for c in children}
    assert stored == {make_url(uri).render_as_string(hide_password=True)} and ":***@" in stored.pop()
    configs = [Path(client.download_artifacts(c.info.run_id, "config.yaml", str(work))).read_text() for c in children]
    logged = [out.stdout + out.stderr, *(json.dumps(c.data.params) for c in children), *configs]
    assert not [text for text in logged if f":{password}@" in text]  # Hydra's log, the trials' params and configs


@pytest.mark.slow  # a real multirun that stops before its first trial
def test_a_batch_sweep_refuses_a_study_that_workers_fill(work: Path):
    storage = f"sqlite:///{work}/optuna.db"
    study = optuna.create_study(study_name="shared", storage=storage)
    study.set_user_attr(PARENT_ATTR, "a worker's parent run")  # what tools.sweep_worker records
    args = work_overrides(work, "shared", "hparams_search=credit_default", f"hydra.sweeper.storage={storage}")
    out = sh([sys.executable, "-m", "pipelines.train", "-m", *args], work, check=False)
    assert out.returncode == 2 and "filled by sweep workers" in out.stderr
    assert optuna.load_study(study_name="shared", storage=storage).trials == []  # no trial taken, none failed


def test_a_trial_connects_with_the_sweepers_url_only_when_its_config_names_it(monkeypatch):
    real = "postgresql+psycopg2://who:secret@db.example:5432/studies"
    monkeypatch.setenv(STORAGE_ENV, real)
    assert shown(real) == "postgresql+psycopg2://who:***@db.example:5432/studies"
    assert to_connect(shown(real)) == real
    assert to_connect("sqlite:///optuna.db") == "sqlite:///optuna.db"  # another storage: the config's own
    monkeypatch.delenv(STORAGE_ENV)
    assert to_connect(shown(real)) == shown(real)  # no URL in the environment: fails to connect, never guesses


@pytest.mark.e2e
def test_winner_written_back_then_trained_and_registered_by_dvc(tmp_path: Path):
    repo = copy_repo(tmp_path)
    experiment_file = repo / "conf/experiment/credit_default.yaml"
    experiment_file.write_text(
        experiment_file.read_text().replace("max_epochs: 40", "max_epochs: 5")
    )  # keep the test short
    git_commit(repo, "shorter training")
    sh(["dvc", "repro", "register@credit_default"], repo)
    sweep = [
        "experiment=credit_default",
        "hparams_search=credit_default",
        "trainer.max_epochs=2",
        "callbacks.progress_bar=null",
    ]
    sh([sys.executable, "-m", "pipelines.train", "-m", *sweep, "hydra.sweeper.n_trials=2"], repo, timeout=600)
    assert (
        "up to date" in sh(["dvc", "status", "--with-deps", "register@credit_default"], repo).stdout
    )  # the sweep left the pipeline alone

    out = sh([sys.executable, "-m", "tools.adopt_sweep", *sweep], repo).stdout
    best = optuna.load_study(study_name="credit_default", storage=f"sqlite:///{repo}/optuna.db").best_trial
    assert f"trial {best.number}" in out
    experiment = yaml.safe_load((repo / "conf/experiment/credit_default.yaml").read_text())
    assert experiment["model"]["optimizer"]["lr"] == best.params["model.optimizer.lr"]
    assert experiment["model"]["net"]["hidden"] == yaml.safe_load(best.params["model.net.hidden"])
    assert (
        "# overrides of conf/model/wide_deep.yaml" in (repo / "conf/experiment/credit_default.yaml").read_text()
    )  # comments kept
    parent = next(r for r in mlflow_runs(repo, "credit_default") if r.data.tags.get("dlforge.sweep") == "true")
    assert experiment["train"]["tuned_by"] == parent.info.run_id

    ran = set(
        re.findall(
            r"Running stage '([^']+)'", sh(["dvc", "repro", "register@credit_default"], repo, timeout=600).stdout
        )
    )
    assert ran == {"train@credit_default", "evaluate@credit_default", "register@credit_default"}
    client = MlflowClient(f"sqlite:///{repo}/mlflow.db")
    version = client.get_model_version_by_alias("credit_default", "challenger")
    assert int(version.version) == 2 and version.tags["dlforge.sweep_run_id"] == parent.info.run_id
    # the DVC-native sweep (dvc exp run --queue): test_every_dvc_exp_command_in_the_docs_runs


def _docs_commands(prefixes: tuple[str, ...]) -> list[str]:
    """The shell commands docs/sweeps.md shows in its bash blocks that start with one of `prefixes`."""
    text = (ROOT / "docs/sweeps.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith(prefixes)]


@pytest.mark.e2e  # real DVC experiments: prepare, train and evaluate of credit_default in DVC's queue
def test_every_dvc_exp_command_in_the_docs_runs(tmp_path: Path):
    commands = _docs_commands(("dvc exp", "dvc queue"))
    assert any("dvc exp run --queue" in c for c in commands) and any("dvc exp show" in c for c in commands)
    repo = copy_repo(tmp_path)
    experiment_file = repo / "conf/experiment/credit_default.yaml"
    experiment_file.write_text(experiment_file.read_text().replace("max_epochs: 40", "max_epochs: 2"))  # tiny
    git_commit(repo, "tiny training")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    for i, command in enumerate(commands):  # as a user pastes them, in order; output to a file, not a pipe:
        with open(tmp_path / f"command{i}.log", "w") as log:  # `dvc queue start` leaves a worker holding it
            done = subprocess.run(["bash", "-c", command], cwd=repo, env=env, stdout=log, stderr=log, timeout=300)
        assert done.returncode == 0, f"{command}:\n{(tmp_path / f'command{i}.log').read_text()[-3000:]}"
    deadline = time.time() + 600
    while re.search(r"\b(Queued|Running)\b", sh(["dvc", "queue", "status"], repo).stdout) and time.time() < deadline:
        time.sleep(5)
    queued = {float(v) for c in commands for v in re.findall(r"model\.optimizer\.lr=([0-9.]+)", c)}
    found = {}
    for commit in json.loads(sh(["dvc", "exp", "show", "--json"], repo).stdout):
        for exp in commit.get("experiments") or []:
            for rev in exp["revs"]:
                data = rev.get("data") or {}
                params = data.get("params", {}).get("conf/experiment/credit_default.yaml", {}).get("data", {})
                metrics = data.get("metrics", {}).get("reports/credit_default/metrics.json", {}).get("data", {})
                if metrics:
                    found[params["model"]["optimizer"]["lr"]] = metrics["model"]["pr_auc"]
    assert set(found) == queued and len(queued) == 2, sh(["dvc", "queue", "status"], repo).stdout
