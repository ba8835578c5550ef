"""Adopt a sweep's winner into the pipeline: best params → conf/experiment/<use case>.yaml.

    python -m tools.adopt_sweep experiment=credit_default hparams_search=credit_default
    dvc repro        # trains, evaluates and registers the winner (version tagged dlforge.sweep_run_id)

Same arguments as the sweep minus `-m`: the study and its storage come from hparams_search.
"""

from __future__ import annotations

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from dlforge.errors import UserError
from pipelines._entry import CONF, hydra_entry


def run(cfg: DictConfig) -> dict:
    hydra = HydraConfig.get()
    if "study_name" not in hydra.sweeper:
        raise UserError("adopt_sweep needs hparams_search=<use case>: it names the study and where it is stored")
    if hydra.runtime.choices.get("experiment") in (None, "null"):
        raise UserError("adopt_sweep needs experiment=<use case>: the config file the winner is written into")
    from mlflow.tracking import MlflowClient

    from dlforge.sweeps.adopt import best_params, write_winner
    from dlforge.sweeps.parent_run import find_study_run

    study = hydra.sweeper.study_name
    number, value, params = best_params(hydra.sweeper.storage, study)
    parent = find_study_run(MlflowClient(cfg.tracking.uri), cfg.tracking.experiment, study)
    path = CONF / "experiment" / f"{hydra.runtime.choices['experiment']}.yaml"
    write_winner(path, params, parent.info.run_id if parent else None)
    print(f"study '{study}': trial {number} ({hydra.sweeper.objective}={value:.6g}) → {path.relative_to(CONF.parent)}")
    for k, v in params.items():
        print(f"  {k} = {v}")
    print("next: dvc repro  (re-runs train, evaluate and register for this use case)")
    return {"trial": number, "value": value, "params": params}


main = hydra_entry(run)

if __name__ == "__main__":
    main()
