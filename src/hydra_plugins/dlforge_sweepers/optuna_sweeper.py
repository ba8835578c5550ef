"""`hydra/sweeper=dlforge_optuna`: Optuna (current release) with pruning, resume and an MLflow summary.

Its config (OptunaSweeperConf: study, storage, search space, sampler, pruner, heartbeats) is also what
sweep workers read (tools/sweep_worker.py, the default way to run a study); this class is the older
batch mode, `pipelines.train -m`, which launches trials in batches through a Hydra launcher.

Why not hydra-optuna-sweeper: its last release pins optuna<3, whose SQLite storage fails under the
SQLAlchemy 2 that MLflow 3 needs (so no resumable studies), and it never gives the job its trial
(so no pruning). This sweeper asks the study for trials, launches them through whatever Hydra
launcher is configured (n_jobs at a time), and tells the study the outcome. Each job gets
`sweep.storage/study/trial/objective`, with which the train stage reports every epoch to its trial
(dlforge.sweeps.pruning). Re-running the same command loads the study and continues its numbering
until `n_trials` trials have finished.

The sampler and the pruner are Optuna objects built from `_target_` configs, chosen as config groups
(conf/hydra/sweeper/sampler/*.yaml, conf/hydra/sweeper/pruner/*.yaml) with a plain override, e.g.
`hydra/sweeper/sampler=random hydra/sweeper/pruner=hyperband`. Several objectives (a list in
`objective`, one direction each in `direction`) make a multi-objective study: the parent run then
records the Pareto front instead of one best trial, and pruning must be off (Optuna cannot prune
on several values): `hydra/sweeper/sampler=nsgaii hydra/sweeper/pruner=none`.

No `from __future__ import annotations` here: Hydra loads plugin modules outside sys.modules, where
dataclasses cannot resolve string annotations.
"""

import os
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
from hydra.core.utils import JobStatus
from hydra.plugins.sweeper import Sweeper
from omegaconf import DictConfig, OmegaConf

from dlforge import keys as K
from dlforge.errors import UserError
from dlforge.sweeps.storage import STORAGE_ENV, shown
from dlforge.sweeps.study import PARENT_ATTR, suggest
from dlforge.sweeps.study import encode as encode


@dataclass
class OptunaSweeperConf:
    _target_: str = "hydra_plugins.dlforge_sweepers.optuna_sweeper.OptunaSweeper"
    study_name: str = "${name}"
    storage: str = "sqlite:///optuna.db"
    n_trials: int = 20
    n_jobs: int | None = None  # trials launched together; None: the launcher's n_jobs, else 1
    seed: int = 42
    objective: Any = K.BEST + "val_loss"  # a value train returns, or a list of them (multi-objective)
    direction: Any = "minimize"  # minimize/maximize, or one per objective
    sampler: Any = None  # an Optuna sampler `_target_` config (conf/hydra/sweeper/sampler/); None: TPE with `seed`
    pruner: Any = None  # an Optuna pruner `_target_` config (conf/hydra/sweeper/pruner/); None: no pruning
    params: dict[str, Any] = field(default_factory=dict)
    # sweep workers (tools.sweep_worker) only; the batch sweep here reads none of these:
    workers: int = 1  # worker processes one `tools.sweep_worker` command starts on its machine
    heartbeat_s: int = 20  # a running trial's heartbeat period (RDB storages: PostgreSQL, SQLite)
    grace_s: int = 60  # a trial without a heartbeat for this long is FAIL (its worker died) and queued again
    retries: int = 1  # times a dead worker's trial is queued again, with the same parameters


ConfigStore.instance().store(group="hydra/sweeper", name="dlforge_optuna", node=OptunaSweeperConf, provider="dlforge")


class OptunaSweeper(Sweeper):
    def __init__(
        self,
        study_name: str,
        storage: str,
        n_trials: int,
        n_jobs: int | None,
        seed: int,
        objective: Any,
        direction: Any,
        sampler: Any,
        pruner: Any,
        params: dict[str, Any],
        workers: int = 1,
        heartbeat_s: int = 20,
        grace_s: int = 60,
        retries: int = 1,
    ):
        self.study_name, self.storage, self.n_trials, self.n_jobs, self.seed = (
            study_name,
            storage,
            n_trials,
            n_jobs,
            seed,
        )
        self.objectives = [objective] if isinstance(objective, str) else list(objective)
        directions = [direction] if isinstance(direction, str) else list(direction)
        self.directions = [{"min": "minimize", "max": "maximize"}.get(d, d) for d in directions]
        if len(self.directions) != len(self.objectives):
            raise UserError(
                f"hydra.sweeper.direction: one direction per objective ({len(self.objectives)}), got {len(self.directions)}"
            )
        self.objective, self.direction = self.objectives[0], self.directions[0]  # what a trial reports for pruning
        self.sampler = sampler  # built by Hydra from its `_target_` (e.g. optuna.samplers.TPESampler), or None
        self.pruner = pruner  # built by Hydra from its `_target_` (e.g. optuna.pruners.MedianPruner), or None
        if len(self.objectives) > 1 and pruner is not None and type(pruner).__name__ != "NopPruner":
            raise UserError(
                f"hydra.sweeper.pruner: Optuna cannot prune a multi-objective study ({', '.join(self.objectives)}); "
                "use hydra/sweeper/pruner=none"
            )
        self.params = OmegaConf.to_container(params) if isinstance(params, DictConfig) else dict(params)
        self.workers, self.heartbeat_s, self.grace_s, self.retries = workers, heartbeat_s, grace_s, retries

    def setup(self, *, hydra_context: Any, task_function: Any, config: DictConfig) -> None:
        self.config, self.hydra_context = config, hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )
        if self.n_jobs is None:
            self.n_jobs = int(OmegaConf.select(config, "hydra.launcher.n_jobs", default=1) or 1)

    def _overrides(self, trial: Any, arguments: list[str]) -> tuple[str, ...]:
        chosen = suggest(trial, self.params)
        bookkeeping = [
            f"sweep.storage='{shown(self.storage)}'",  # no password: trials log their config (dlforge.sweeps.storage)
            f"sweep.study={self.study_name}",
            f"sweep.trial={trial.number}",
            f"sweep.objective={self.objective}",
        ]
        return (*arguments, *chosen, *bookkeeping)

    def sweep(self, arguments: list[str]) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        os.environ[STORAGE_ENV] = self.storage  # the trials connect with it (launched after this, they inherit it)
        study = optuna.create_study(
            study_name=self.study_name,
            storage=self.storage,
            load_if_exists=True,
            directions=self.directions,
            sampler=self.sampler or optuna.samplers.TPESampler(seed=self.seed),
            pruner=self.pruner or optuna.pruners.NopPruner(),
        )
        if PARENT_ATTR in study.user_attrs:  # workers fill it: this sweep would take their running trials for dead ones
            raise UserError(
                f"study '{self.study_name}' is filled by sweep workers: start another with "
                "python -m tools.sweep_worker (same arguments, without -m)"
            )
        for stale in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):  # from a killed sweep
            study.tell(stale.number, state=optuna.trial.TrialState.FAIL)
        finished = len(
            study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED))
        )
        while finished < self.n_trials:
            batch = [study.ask() for _ in range(min(self.n_jobs, self.n_trials - finished))]
            overrides = [self._overrides(t, arguments) for t in batch]
            self.validate_batch_is_legal(overrides)
            for trial, ret in zip(batch, self.launcher.launch(overrides, initial_job_idx=batch[0].number)):
                if ret.status != JobStatus.COMPLETED:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                elif ret.return_value.get("pruned"):
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                    finished += 1
                else:
                    values = [ret.return_value[o] for o in self.objectives]
                    study.tell(trial, values if len(values) > 1 else values[0])
                    finished += 1
        self._summarise(study)

    def _summarise(self, study: Any) -> None:
        """Best params and value, and Optuna's plots, on the sweep's MLflow parent run (dlforge.sweeps.summary)."""
        from dlforge.sweeps.parent_run import SWEEP_RUN_ENV
        from dlforge.sweeps.summary import summarise

        run_id = os.environ.get(SWEEP_RUN_ENV)
        if run_id:
            from mlflow.tracking import MlflowClient

            summarise(MlflowClient(self.config.tracking.uri), run_id, study, self.objectives, self.directions)
