"""Every built-in use case (dvc.yaml `vars.use_cases`) has an Optuna search space in conf/hparams_search/.

Every space composes with its experiment, builds its sweeper, names only keys the config has, optimises a
value the train stage returns and accepts every choice and bound as an override. Two tiny trials (one
epoch, two train batches) then run through the real `pipelines.train -m` on the real prepared data for
every use case but credit_default, whose space tests/e2e/test_sweeps.py runs (pruning, resume, parallel
trials, the winner adopted and registered by DVC).
"""

from __future__ import annotations

import sys
from pathlib import Path

import optuna
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf

from conftest import CONF, ROOT, mlflow_runs, sh
from tools.dvc_sync import declared_use_cases

USE_CASES = sorted(declared_use_cases(ROOT))
RUN = [u for u in USE_CASES if u != "credit_default"]  # credit_default: tests/e2e/test_sweeps.py


def _compose(use_case: str, *overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(
            "config",
            overrides=[f"experiment={use_case}", f"hparams_search={use_case}", *overrides],
            return_hydra_config=True,
        )


def _override(key: str, value) -> str:
    from hydra_plugins.dlforge_sweepers.optuna_sweeper import encode

    return f"{key}={encode(value)}"


def test_every_use_case_has_a_search_space():
    assert sorted(p.stem for p in (CONF / "hparams_search").glob("*.yaml") if p.stem in USE_CASES) == USE_CASES


@pytest.mark.parametrize("use_case", USE_CASES)
def test_search_space_composes_and_names_real_keys(use_case: str):
    text = (CONF / "hparams_search" / f"{use_case}.yaml").read_text()
    assert f"python -m pipelines.train -m experiment={use_case} hparams_search={use_case}\n" in text  # header
    cfg = _compose(use_case)
    sweeper = instantiate(cfg.hydra.sweeper)
    assert isinstance(sweeper.sampler, optuna.samplers.TPESampler) and sweeper.study_name == use_case
    monitor = cfg.callbacks.model_checkpoint.monitor
    assert sweeper.objective == f"best_{monitor}"  # what train returns: the checkpoint's best score
    rounds: dict[int, list[tuple[str, object]]] = {}
    for key, spec in sweeper.params.items():
        assert OmegaConf.select(cfg, key, default="<missing>") != "<missing>", f"{use_case}: {key} not in the config"
        values = spec["choices"] if spec["type"] == "categorical" else [spec["low"], spec["high"]]
        for i, value in enumerate(values):
            rounds.setdefault(i, []).append((key, value))
    for overrides in rounds.values():  # each choice and bound is a valid override (one value of every key per compose)
        swept = _compose(use_case, *(_override(key, value) for key, value in overrides))
        for key, value in overrides:
            assert OmegaConf.select(swept, key) == value, f"{use_case}: {key}={value!r}"


@pytest.mark.slow
@pytest.mark.parametrize("use_case", RUN)
def test_two_tiny_trials(tmp_path: Path, use_case: str):
    prepared = tmp_path / "data"
    sh([sys.executable, "-m", "pipelines.prepare", f"experiment={use_case}", f"paths.prepared={prepared}"], tmp_path)
    args = [
        f"experiment={use_case}",
        f"hparams_search={use_case}",
        f"paths.prepared={prepared}",
        f"paths.models={tmp_path}/models",
        f"tracking.uri=sqlite:///{tmp_path}/mlflow.db",
        f"hydra.sweeper.storage=sqlite:///{tmp_path}/optuna.db",
        f"hydra.sweep.dir={tmp_path}/sweeps",
        "hydra.sweeper.n_trials=2",
        "trainer.max_epochs=1",
        "+trainer.limit_train_batches=2",
        "+trainer.limit_val_batches=1",
        "callbacks.progress_bar=null",
    ]
    sh([sys.executable, "-m", "pipelines.train", "-m", *args], tmp_path, timeout=300)
    study = optuna.load_study(study_name=use_case, storage=f"sqlite:///{tmp_path}/optuna.db")
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    assert all(t.value == t.value and t.value < float("inf") for t in study.trials)  # finite objective
    runs = mlflow_runs(tmp_path, use_case)
    assert sum(r.data.tags.get("dlforge.sweep") == "true" for r in runs) == 1 and len(runs) == 3
    assert not (tmp_path / "models").exists()  # trials never write the pipeline's outputs
