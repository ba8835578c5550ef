"""`hydra/sweeper=dlforge_optuna`: Optuna (current release) with pruning, resume and an MLflow summary.

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

import json
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
from hydra.core.utils import JobStatus
from hydra.plugins.sweeper import Sweeper
from omegaconf import DictConfig, OmegaConf

from dlforge import keys as K
from dlforge.errors import UserError
from dlforge.sweeps.storage import STORAGE_ENV, shown


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


ConfigStore.instance().store(group="hydra/sweeper", name="dlforge_optuna", node=OptunaSweeperConf, provider="dlforge")


def encode(value: Any) -> Any:
    """Optuna choices must be scalars: a list choice travels as its override text, e.g. '[64,32]'."""
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(str(encode(v)) for v in value) + "]"
    return value


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

    def setup(self, *, hydra_context: Any, task_function: Any, config: DictConfig) -> None:
        self.config, self.hydra_context = config, hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )
        if self.n_jobs is None:
            self.n_jobs = int(OmegaConf.select(config, "hydra.launcher.n_jobs", default=1) or 1)

    def _suggest(self, trial: Any, key: str, spec: dict[str, Any]) -> Any:
        kind = spec.get("type", "float")
        if kind == "categorical":
            return trial.suggest_categorical(key, [encode(c) for c in spec["choices"]])
        if kind == "int":
            return trial.suggest_int(
                key, spec["low"], spec["high"], step=spec.get("step", 1), log=spec.get("log", False)
            )
        if kind == "float":
            return trial.suggest_float(key, float(spec["low"]), float(spec["high"]), log=spec.get("log", False))
        raise UserError(f"hydra.sweeper.params.{key}: unknown type '{kind}' (float, int or categorical)")

    def _overrides(self, trial: Any, arguments: list[str]) -> tuple[str, ...]:
        chosen = [f"{key}={self._suggest(trial, key, spec)}" for key, spec in self.params.items()]
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
        """Best params and value, and Optuna's plots, on the sweep's MLflow parent run."""
        from dlforge.sweeps.parent_run import SWEEP_RUN_ENV

        run_id = os.environ.get(SWEEP_RUN_ENV)
        complete = [t for t in study.trials if t.state.name == "COMPLETE"]
        if not run_id or not complete:
            return
        from mlflow.tracking import MlflowClient

        client = MlflowClient(self.config.tracking.uri)
        client.set_tag(run_id, K.OBJECTIVE, ", ".join(f"{d} {o}" for d, o in zip(self.directions, self.objectives)))
        client.set_tag(run_id, K.SAMPLER, type(study.sampler).__name__)
        client.set_tag(run_id, K.PRUNER, type(study.pruner).__name__)
        if len(self.objectives) > 1:
            self._summarise_front(client, run_id, study)
            return
        best = study.best_trial
        client.log_metric(run_id, "best_value", best.value)  # tags below: they stay current when a study resumes
        client.set_tag(run_id, K.BEST_TRIAL, str(best.number))
        for key, value in best.params.items():
            client.set_tag(run_id, f"best.{key}", str(value))
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "best.json").write_text(
                json.dumps({"trial": best.number, "value": best.value, "params": best.params}, indent=2)
            )
            self._plots(study, Path(tmp))
            client.log_artifacts(run_id, tmp, "optuna")

    def _summarise_front(self, client: Any, run_id: str, study: Any) -> None:
        """Several objectives: the Pareto front (trials no other trial beats on every objective) as pareto.json."""
        front = [
            {"trial": t.number, "values": dict(zip(self.objectives, t.values)), "params": t.params}
            for t in study.best_trials
        ]
        client.set_tag(run_id, K.PARETO_TRIALS, ",".join(str(t["trial"]) for t in front))
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "pareto.json").write_text(json.dumps(front, indent=2))
            self._plots(study, Path(tmp))
            client.log_artifacts(run_id, tmp, "optuna")

    def _plots(self, study: Any, out: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from optuna.visualization import matplotlib as vis

        if len(study.directions) > 1:
            plots = {"pareto_front": lambda s: vis.plot_pareto_front(s, target_names=self.objectives)}
        else:
            plots = {
                "optimization_history": vis.plot_optimization_history,
                "parallel_coordinate": vis.plot_parallel_coordinate,
            }
            if len([t for t in study.trials if t.state.name == "COMPLETE"]) > 1 and len(study.best_trial.params) > 1:
                plots["param_importances"] = vis.plot_param_importances
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna marks its matplotlib plots experimental
            for name, plot in plots.items():
                try:
                    ax = plot(study)
                except Exception as e:  # a plot that needs more trials must not fail the sweep
                    print(f"optuna plot {name} skipped: {e}")
                    continue
                fig = (ax.flat[0] if hasattr(ax, "flat") else ax).figure
                fig.tight_layout()
                fig.savefig(out / f"{name}.png", dpi=100)
                plt.close(fig)
