"""A study's outcome on its MLflow parent run: best trial (or Pareto front), its parameters, Optuna's plots.

Written by the batch sweeper when its sweep ends and by the sweep worker that finishes a study's last
trial; writing it again (a resumed study) replaces it.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path
from typing import Any

from dlforge import keys as K


def summarise(client: Any, run_id: str, study: Any, objectives: list[str], directions: list[str]) -> None:
    """Best params and value, and Optuna's plots, on the parent run `run_id`."""
    if not [t for t in study.trials if t.state.name == "COMPLETE"]:
        return
    client.set_tag(run_id, K.OBJECTIVE, ", ".join(f"{d} {o}" for d, o in zip(directions, objectives)))
    client.set_tag(run_id, K.SAMPLER, type(study.sampler).__name__)
    client.set_tag(run_id, K.PRUNER, type(study.pruner).__name__)
    if len(objectives) > 1:
        _summarise_front(client, run_id, study, objectives)
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
        _plots(study, Path(tmp), objectives)
        client.log_artifacts(run_id, tmp, "optuna")


def _summarise_front(client: Any, run_id: str, study: Any, objectives: list[str]) -> None:
    """Several objectives: the Pareto front (trials no other trial beats on every objective) as pareto.json."""
    front = [
        {"trial": t.number, "values": dict(zip(objectives, t.values)), "params": t.params} for t in study.best_trials
    ]
    client.set_tag(run_id, K.PARETO_TRIALS, ",".join(str(t["trial"]) for t in front))
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "pareto.json").write_text(json.dumps(front, indent=2))
        _plots(study, Path(tmp), objectives)
        client.log_artifacts(run_id, tmp, "optuna")


def _plots(study: Any, out: Path, objectives: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as vis

    if len(study.directions) > 1:
        plots = {"pareto_front": lambda s: vis.plot_pareto_front(s, target_names=objectives)}
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
            ax = plot(study)  # the guards above leave out the plots a small study cannot draw
            fig = (ax.flat[0] if hasattr(ax, "flat") else ax).figure
            fig.tight_layout()
            fig.savefig(out / f"{name}.png", dpi=100)
            plt.close(fig)
