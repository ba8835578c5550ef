"""dvc.yaml and conf/ agree: every use case's entry names the groups its experiment picks."""

from __future__ import annotations

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig

from conftest import CONF, ROOT

DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text())
USE_CASES = DVC["vars"][0]["use_cases"]
TRACKED_SECTIONS = {"data", "model", "train", "trainer", "task", "register"}


@pytest.mark.parametrize("use_case", sorted(USE_CASES))
def test_dvc_entry_matches_hydra_choices(use_case):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=[f"experiment={use_case}"], return_hydra_config=True)
        HydraConfig.instance().set_config(cfg)
        choices = HydraConfig.get().runtime.choices
    assert cfg.name == use_case
    for group, option in USE_CASES[use_case].items():
        assert choices[group] == option, (
            f"dvc.yaml says {group}={option}, conf/experiment/{use_case}.yaml picks {choices[group]}"
        )


@pytest.mark.parametrize("use_case", sorted(USE_CASES))
def test_experiment_lists_every_section_dvc_tracks(use_case):
    experiment = yaml.safe_load((CONF / "experiment" / f"{use_case}.yaml").read_text())
    assert TRACKED_SECTIONS <= experiment.keys()


def test_every_built_in_experiment_is_in_the_pipeline():
    """Bring-your-own examples (byo_*) run on the user's file, so `make pipeline` leaves them out."""
    assert {p.stem for p in (CONF / "experiment").glob("*.yaml") if not p.stem.startswith("byo_")} == set(USE_CASES)
