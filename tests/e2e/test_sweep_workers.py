"""Sweep workers (tools.sweep_worker) as real processes on one study: two working copies on one
PostgreSQL study, a worker killed with SIGKILL mid-trial while a later one joins, N workers from one
command on Optuna's journal file storage. Real Optuna, real MLflow, real Lightning; tiny trials."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient
from sqlalchemy.engine import make_url

from conftest import ROOT, copy_repo, mlflow_runs, sh, work_overrides
from services import free_port, fresh_database, process


def _args(work: Path, name: str, storage: str | None, n_trials: int, *extra: str) -> list[str]:
    return work_overrides(
        work,
        name,
        "hparams_search=credit_default",
        f"hydra.sweeper.n_trials={n_trials}",
        *([f"hydra.sweeper.storage={storage}"] if storage else []),  # None: the cluster scripts' own
        "callbacks.early_stopping=null",
        "print_config=false",
        *extra,
    )


def _worker(cwd: Path, args: list[str], log: Path) -> subprocess.Popen:
    """`python -m tools.sweep_worker args…` run in `cwd`."""
    return _start([sys.executable, "-m", "tools.sweep_worker", *args], cwd, log)


def _start(cmd: list[str], cwd: Path, log: Path, code: Path = ROOT, env: dict | None = None) -> subprocess.Popen:
    """`cmd` in `cwd` in its own process group, importing the code of the working copy `code`."""
    env = {**{k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}, **(env or {})}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = os.pathsep.join([str(code / "src"), str(code)])
    with open(log, "w") as out:
        return subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _finish(proc: subprocess.Popen, log: Path, timeout: float = 400) -> str:
    try:
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = log.read_text()
    assert proc.returncode == 0, text[-3000:]
    return text


def _until(check, what: str, logs: list[Path], procs: list[subprocess.Popen], timeout: float = 240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and all(p.poll() is None for p in procs):
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(
        f"no {what} (timed out, or a worker exited):\n" + "\n".join(log.read_text()[-2000:] for log in logs)
    )


def _sweep_runs(work: Path, name: str) -> tuple:
    runs = mlflow_runs(work, name)
    (parent,) = [r for r in runs if r.data.tags.get("dlforge.sweep") == "true"]
    children = [r for r in runs if r is not parent]
    assert all(c.data.tags["mlflow.parentRunId"] == parent.info.run_id for c in children)
    return parent, children


@pytest.mark.slow  # two real worker processes, four trainings
def test_two_workers_in_two_working_copies_fill_one_postgresql_study(work: Path, tmp_path: Path):
    """Machine A starts its worker with the SLURM array script, machine B with the submitit recipe (run
    locally): the study's URL only in the environment, as on a cluster."""
    a, b = copies = [copy_repo(Path(tmp_path / n)) for n in ("machine_a", "machine_b")]
    for c in copies:
        (c / "tmp").mkdir()
    with fresh_database() as uri:
        password = make_url(uri).password
        env = {"DLFORGE_STUDY_STORAGE": uri, "DLFORGE_PYTHON": sys.executable}
        args = _args(work, "pair", None, 4, "trainer.max_epochs=20")
        cluster = [
            ["bash", "scripts/sweep-workers.sbatch", *args],
            [sys.executable, "scripts/sweep_workers_submitit.py", "--cluster", "local", "--workers", "1"]
            + ["--cpus", "1", "--wait", "--folder", str(b / "tmp/submitit"), "--", *args],
        ]
        procs = [_start(cmd, c, c / "tmp/worker.log", c, env) for cmd, c in zip(cluster, copies)]  # together
        logs = [_finish(p, c / "tmp/worker.log") for p, c in zip(procs, copies)]
        logs += [f.read_text() for f in (b / "tmp/submitit").rglob("*") if f.suffix in (".out", ".err")]
        study = optuna.load_study(study_name="pair", storage=uri)
        trials, best = study.trials, study.best_trial

        # the winner adopted from the study both filled, as after any sweep (tools.adopt_sweep)
        out = sh([sys.executable, "-m", "tools.adopt_sweep", *_args(work, "pair", uri, 4)], a, timeout=300).stdout
    assert f"trial {best.number}" in out
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(complete) == 4 and len({t.number for t in complete}) == 4  # every slot once
    assert all(t.user_attrs.get("surplus") for t in trials if t.state.name != "COMPLETE")  # raced: given up untrained
    assert len({t.user_attrs["worker"] for t in complete}) == 2  # both workers trained
    assert all(sorted(t.intermediate_values) == list(range(20)) for t in complete)  # pruning's channel, per epoch
    parent, children = _sweep_runs(work, "pair")
    assert sorted(int(c.data.tags["dlforge.trial"]) for c in children) == sorted(t.number for t in complete)
    assert all(c.info.status == "FINISHED" for c in children) and parent.info.status == "FINISHED"
    assert parent.data.metrics["best_value"] == pytest.approx(best.value)
    client = MlflowClient(f"sqlite:///{work}/mlflow.db")
    assert {"optuna/best.json", "optuna/optimization_history.png"} <= {
        a.path for a in client.list_artifacts(parent.info.run_id, "optuna")
    }
    for c in copies:  # each machine's trials wrote their models in its own working copy
        assert list((c / "logs/multirun").glob("*/model/model.pt"))
    assert len(logs) > 2 and not [text for text in logs if f":{password}@" in text]  # the workers' and submitit's logs
    assert all(f":{password}@" not in str(c.data.params) for c in children)


@pytest.mark.slow  # real processes: one killed with SIGKILL
def test_a_killed_workers_trial_is_retried_by_a_later_worker_that_left_it_alone_while_alive(work: Path):
    with fresh_database() as uri:
        args = _args(
            work,
            "kill",
            uri,
            4,
            "trainer.max_epochs=150",
            "train.threads=1",
            "hydra.sweeper.heartbeat_s=1",
            "hydra.sweeper.grace_s=4",
        )
        a = _worker(work, args, work / "a.log")
        study = optuna.load_study  # loaded once the first worker made it

        def running(worker: str | None = None) -> list:
            try:
                s = study(study_name="kill", storage=uri)
            except KeyError:
                return []
            return [
                t
                for t in s.get_trials(states=(optuna.trial.TrialState.RUNNING,))
                if t.intermediate_values and (worker is None or t.user_attrs.get("worker", "").endswith(f":{worker}"))
            ]

        _until(lambda: running(str(a.pid)), "the first worker's first epoch", [work / "a.log"], [a])
        b = _worker(work, args, work / "b.log")  # joins later
        _until(lambda: running(str(b.pid)), "the later worker's first epoch", [work / "a.log", work / "b.log"], [a, b])
        (victim,) = _until(lambda: running(str(a.pid)), "a running trial of the first worker", [work / "a.log"], [a, b])
        assert victim.state.name == "RUNNING"  # the later worker left it alone
        os.kill(a.pid, signal.SIGKILL)
        a.wait()
        _finish(b, work / "b.log")
        trials = study(study_name="kill", storage=uri).trials
    by_number = {t.number: t for t in trials}
    assert by_number[victim.number].state.name == "FAIL"
    (retry,) = [t for t in trials if t.system_attrs.get("failed_trial") == victim.number]
    assert retry.state.name == "COMPLETE" and retry.params == victim.params
    assert retry.user_attrs["worker"].endswith(f":{b.pid}")
    finished = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == 4
    assert [t.number for t in trials if t.state.name == "FAIL"] == [victim.number]  # nothing else lost


@pytest.mark.slow  # one command, two worker processes
def test_one_command_starts_n_workers_on_a_journal_file(work: Path):
    journal = work / "study.log"
    sh(
        [
            sys.executable,
            "-m",
            "tools.sweep_worker",
            *_args(work, "journal", f"journal:{journal}", 4, "trainer.max_epochs=20", "hydra.sweeper.workers=2"),
        ],
        work,
        timeout=400,
    )
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    trials = optuna.load_study(study_name="journal", storage=storage).trials
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(complete) == 4 and len({t.user_attrs["worker"] for t in complete}) == 2
    _, children = _sweep_runs(work, "journal")
    assert sorted(int(c.data.tags["dlforge.trial"]) for c in children) == sorted(t.number for t in complete)
    cores = len(os.sched_getaffinity(0))
    assert {c.data.tags["dlforge.torch_threads"] for c in children} == {str(max(1, cores // 2))}  # split

    # optuna-dashboard (`make dashboard`) reads the journal file the workers filled
    url = f"http://127.0.0.1:{free_port()}"
    dashboard = [str(Path(sys.executable).parent / "optuna-dashboard"), str(journal), "--host", "127.0.0.1"]
    with process([*dashboard, "--port", url.rsplit(":", 1)[1]], {}, work / "dashboard.log", f"{url}/api/studies"):
        (listed,) = _get(f"{url}/api/studies")["study_summaries"]
        shown = _get(f"{url}/api/studies/{listed['study_id']}")["trials"]
    assert listed["study_name"] == "journal" and len(shown) == len(trials)


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())
