"""A sweep worker: joins an Optuna study (creating it if absent) and trains its trials until it is done.

    python -m tools.sweep_worker experiment=credit_default hparams_search=credit_default
    python -m tools.sweep_worker experiment=credit_default hparams_search=credit_default hydra.sweeper.workers=2

Same arguments as the batch sweep (`pipelines.train -m`) without `-m`. The worker pays its imports
once, then asks the study for a trial, composes that trial's config (Hydra's compose API, the
search-space values as overrides), trains it through the real train stage (`pipelines.train.run`:
the same MLflow child run, pruning and tags as a batch sweep's trial) and tells the study the
outcome; it repeats until the study has `hydra.sweeper.n_trials` finished (complete or pruned)
trials. Start as many as you like, on this machine or on any that reaches the same storage:
`hydra.sweeper.workers=N` starts N here, each on cores // N torch threads unless `train.threads`
says otherwise. Every worker's trials are children of one MLflow parent run (the study's).

Failure handling is Optuna's own (dlforge.sweeps.study): heartbeats mark a killed worker's trial
FAIL after `hydra.sweeper.grace_s`, and it is queued again with the same parameters; a worker that
finds nothing left to ask waits while other workers' trials run, in case one dies. Running trials
are never failed on sight, so workers started together or later leave each other's trials alone.
Two workers asking for the last open slot at the same moment: the higher-numbered trial is given
up before it trains (FAIL, "surplus"), so the study ends with exactly n_trials finished.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import warnings
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from dlforge.errors import UserError
from pipelines._entry import hydra_entry

WAIT_S = 1  # how often a worker with nothing to ask looks at the study again
PARENT_WAIT_S = 120  # how long a joining worker waits for the study's creator to make the MLflow parent run


class Surplus(Exception):
    """The trial was asked for after the study's last open slot was taken: it is given up untrained."""


def run(cfg: DictConfig) -> dict[str, Any]:
    hydra = HydraConfig.get()
    if "study_name" not in hydra.sweeper:
        raise UserError("sweep_worker needs hparams_search=<use case>: it names the study and its search space")
    overrides = list(hydra.overrides.task)
    children = []
    if hydra.sweeper.workers > 1:  # N on this machine: N - 1 more processes, and this one
        threads = cfg.train.threads or max(1, len(os.sched_getaffinity(0)) // hydra.sweeper.workers)
        overrides = [o for o in overrides if not o.startswith("train.threads=")] + [f"train.threads={threads}"]
        children = start_workers(overrides, hydra.sweeper.workers - 1)
    try:
        sweeper = instantiate(hydra.sweeper)  # the dlforge Optuna sweeper's settings, sampler and pruner built
        result = work(cfg, sweeper, overrides, hydra.sweep.dir)
    except BaseException:  # this worker failed or was interrupted: the ones it started stop with it
        for p in children:
            p.terminate()
        raise
    codes = [p.wait() for p in children]
    if any(codes):
        raise SystemExit(f"{sum(bool(c) for c in codes)} of this command's worker processes failed")
    return result


def start_workers(overrides: list[str], n: int) -> list[subprocess.Popen]:
    """`n` more workers on this machine: this command again as separate processes, one worker each."""
    own = [o for o in HydraConfig.get().overrides.hydra if not o.startswith("hydra.sweeper.workers=")]
    cmd = [sys.executable, "-m", "tools.sweep_worker", *overrides, *own, "hydra.sweeper.workers=1"]
    return [subprocess.Popen(cmd) for _ in range(n)]


def work(cfg: DictConfig, sweeper: Any, overrides: list[str], sweep_dir: str) -> dict[str, Any]:
    """Ask, train, tell, until the study has n_trials finished trials."""
    import optuna

    from dlforge.sweeps import study as studies
    from dlforge.sweeps.storage import STORAGE_ENV, shown

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    os.environ[STORAGE_ENV] = sweeper.storage  # the trial's pruning callback connects with it (dlforge.sweeps.storage)
    opened = studies.storage(sweeper.storage, sweeper.heartbeat_s, sweeper.grace_s, sweeper.retries)
    study, created = open_study(opened, sweeper)
    if not studies.has_heartbeat(opened):
        print(f"{shown(sweeper.storage)}: no heartbeats there, so a killed worker's trial stays RUNNING (not retried)")
    parent = None
    if cfg.logger:
        from mlflow.tracking import MlflowClient

        from dlforge.sweeps.parent_run import study_parent

        client = MlflowClient(cfg.tracking.uri)
        parent = study_parent(client, cfg.tracking.experiment, study, created, overrides, PARENT_WAIT_S)
    me = f"{socket.gethostname()}:{os.getpid()}"  # this worker, as its trials record it
    trained, last = 0, False
    while True:
        with warnings.catch_warnings():  # Optuna marks it experimental (and calls it the same way in optimize)
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)  # trials whose worker died: FAIL, queued again
        n = studies.counts(study)
        if n["finished"] >= sweeper.n_trials:
            break
        if n["finished"] + n["RUNNING"] < sweeper.n_trials or n["WAITING"]:
            objective = trial_objective(cfg, sweeper, overrides, sweep_dir, parent, me)
            study.optimize(objective, n_trials=1, catch=(Surplus,))
            trained, last = trained + 1, True
        else:  # every open slot is taken: wait, in case a running trial's worker dies
            time.sleep(WAIT_S)
            last = False
    print(f"worker {me}: study '{study.study_name}' has {n['finished']} finished trials ({trained} asked here)")
    if parent and last and not studies.counts(study)["RUNNING"]:  # this worker finished the study's last trial
        from dlforge.sweeps.summary import summarise

        summarise(client, parent, study, sweeper.objectives, sweeper.directions)
        client.set_terminated(parent)
    return {"trials": trained}


def open_study(opened: Any, sweeper: Any) -> tuple[Any, bool]:
    """The study, and whether this worker created it (Optuna lets exactly one process do that)."""
    import optuna

    kwargs = {
        "study_name": sweeper.study_name,
        "storage": opened,
        "sampler": sweeper.sampler,  # replaced for each trial's draws (seeded_sampler)
        "pruner": sweeper.pruner or optuna.pruners.NopPruner(),
    }
    try:
        return optuna.create_study(directions=sweeper.directions, load_if_exists=False, **kwargs), True
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(**kwargs)
    if [d.name.lower() for d in study.directions] != sweeper.directions:
        raise UserError(
            f"study '{sweeper.study_name}' optimises {[d.name.lower() for d in study.directions]}, "
            f"hydra.sweeper.direction says {sweeper.directions}"
        )
    return study, False


def seeded_sampler(sweeper: Any, number: int) -> Any:
    """The sampler that draws trial `number`: seeded with seed + number, so workers never repeat each other's
    draws and a trial's random draws do not depend on how many workers there are. QMC keeps one seed (its
    scrambled sequence is shared; the study numbers the points)."""
    import optuna

    sampler_cfg = HydraConfig.get().sweeper.get("sampler")
    if isinstance(sweeper.sampler, optuna.samplers.QMCSampler):
        return sweeper.sampler
    if sampler_cfg is None:
        return optuna.samplers.TPESampler(seed=sweeper.seed + number)
    return instantiate(sampler_cfg, seed=sweeper.seed + number)


def trial_objective(cfg: DictConfig, sweeper: Any, overrides: list[str], sweep_dir: str, parent: str | None, me: str):
    """Optuna's objective for one trial: compose its config, train it, return its objective value(s)."""
    import optuna
    from hydra import compose

    from dlforge.sweeps import study as studies
    from dlforge.sweeps.storage import shown
    from dlforge.sweeps.trial import mark
    from pipelines import train

    def objective(trial: optuna.Trial) -> Any:
        if studies.taken_before(trial.study, trial.number) >= sweeper.n_trials:
            trial.set_user_attr("surplus", True)
            raise Surplus(f"trial {trial.number}: the study's {sweeper.n_trials} slots were taken meanwhile")
        trial.set_user_attr("worker", me)  # which machine and process trained it (optuna-dashboard shows it)
        trial.study.sampler = seeded_sampler(sweeper, trial.number)
        chosen = studies.suggest(trial, sweeper.params)
        bookkeeping = [
            f"sweep.storage='{shown(sweeper.storage)}'",  # no password: trials log their config (dlforge.sweeps.storage)
            f"sweep.study={sweeper.study_name}",
            f"sweep.trial={trial.number}",
            f"sweep.objective={sweeper.objective}",
        ]
        trial_cfg = compose("config", overrides=[*overrides, *chosen, *bookkeeping])
        pruner = OmegaConf.select(HydraConfig.get().sweeper, "pruner")
        mark(trial_cfg, trial.number, [*overrides, *chosen], parent, pruner, os.path.join(sweep_dir, str(trial.number)))
        print(f"worker {me}: trial {trial.number}: {' '.join(chosen)}")
        metrics = train.run(trial_cfg)
        if metrics.get("pruned"):
            raise optuna.TrialPruned()
        values = [metrics[o] for o in sweeper.objectives]
        return values if len(values) > 1 else values[0]

    return objective


main = hydra_entry(run)

if __name__ == "__main__":
    main()
