"""The types of conf/monitor/default.yaml (`dlforge monitor`'s thresholds), checked when it is composed.

Values live in the YAML only. The group is not part of the stages' config (conf/config.yaml): no stage
reads it, so a threshold edit re-runs nothing in `dvc repro` and no training run logs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import MISSING

from dlforge.errors import UserError


@dataclass
class Psi:
    moderate: float = MISSING
    drift: float = MISSING
    bins: int = MISSING
    max_categories: int = MISSING


@dataclass
class Labels:
    confidence: float = MISSING
    bootstrap_samples: int = MISSING
    margin: float = MISSING
    seed: int = MISSING


@dataclass
class Monitor:
    psi: Psi = field(default_factory=Psi)
    p_value: float = MISSING
    missing_share: float = MISSING
    unseen_share: float = MISSING
    labels: Labels = field(default_factory=Labels)


def load(config_dir: str | Path, overrides: list[str]) -> Any:
    """<config_dir>/monitor/default.yaml composed by Hydra with `overrides` (monitor.KEY=VALUE), type-checked."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    folder = Path(config_dir).resolve()
    if not (folder / "monitor" / "default.yaml").is_file():
        raise UserError(f"--config-dir '{config_dir}': no monitor/default.yaml there (run from the repository root)")
    bad = [o for o in overrides if not o.startswith("monitor.")]
    if bad:
        raise UserError(f"override '{bad[0]}': expected monitor.KEY=VALUE (keys: conf/monitor/default.yaml)")
    try:
        with initialize_config_dir(config_dir=str(folder), version_base="1.3"):
            cfg = compose("monitor/default", overrides=overrides)
        settings = OmegaConf.merge(OmegaConf.structured(Monitor), cfg.monitor)
    except (HydraException, OmegaConfBaseException) as e:
        where = " ".join(overrides) or f"{folder}/monitor/default.yaml"
        raise UserError(f"config key in '{where}': {' '.join(str(e).split())[:200]}") from e
    if not 0 < settings.labels.confidence < 1:
        raise UserError(
            f"config key 'monitor.labels.confidence': expected a number strictly between 0 and 1, got {settings.labels.confidence}"
        )
    if settings.labels.bootstrap_samples < 100:
        raise UserError(
            f"config key 'monitor.labels.bootstrap_samples': expected at least 100, got {settings.labels.bootstrap_samples}"
        )
    if settings.psi.bins < 2:
        raise UserError(f"config key 'monitor.psi.bins': expected at least 2, got {settings.psi.bins}")
    return settings
