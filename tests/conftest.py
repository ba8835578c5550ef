"""Shared fixtures: Hydra-composed configs whose outputs and MLflow store live in a temp folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

import dlforge.config.schema  # noqa: F401  (registers the schema)

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"


@pytest.fixture
def make_cfg(tmp_path: Path) -> Callable[..., DictConfig]:
    """Compose a config like a stage does, with outputs and the MLflow store under tmp_path."""

    def _make(*overrides: str) -> DictConfig:
        base = [
            f"paths.prepared={tmp_path}/data/${{name}}",
            f"paths.models={tmp_path}/models/${{name}}",
            f"paths.reports={tmp_path}/reports/${{name}}",
            f"tracking.uri=sqlite:///{tmp_path}/mlflow.db",
        ]
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            return compose("config", overrides=[*base, *overrides])

    return _make


@pytest.fixture
def tiny_csv(tmp_path: Path) -> Path:
    return write_tiny_csv(tmp_path / "tiny.csv")


def write_tiny_csv(path: Path) -> Path:
    """A 400-row tabular classification problem: y depends on x1 and on the category."""
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "kind": rng.choice(["a", "b", "c"], size=n)})
    logit = 2.5 * df.x1 + (df.kind == "a") * 1.5 - 0.5
    df["y"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "pos", "neg")
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    return path


def compose_tiny(root: Path, uri: str, *extra: str) -> DictConfig:
    """The tiny use case's config with outputs under `root` and MLflow at `uri` (module-scoped fixtures)."""
    base = [f"paths.prepared={root}/data/${{name}}", f"paths.models={root}/models/${{name}}", f"paths.reports={root}/reports/${{name}}", f"tracking.uri={uri}"]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=[*base, *tiny_overrides(write_tiny_csv(root / "tiny.csv")), *extra])


def build_registry(root: Path, uri: str) -> None:
    """Run the tiny pipeline twice into `uri`: v1 untrained (champion first), v2 trained (clearly better)."""
    from pipelines import evaluate, prepare, register, train

    for i, extra in enumerate((["model.optimizer.lr=0.0"], ["trainer.max_epochs=8"])):
        cfg = compose_tiny(root, uri, *extra)
        if i == 0:
            prepare.run(cfg)
        train.run(cfg)
        evaluate.run(cfg)
        register.run(cfg)


def tiny_overrides(csv: Path) -> list[str]:
    """Overrides that point the credit-default use case at the tiny CSV and train briefly."""
    return [
        "experiment=credit_default",
        "name=tiny",
        f"+data.source.path={csv}",
        "data.source._target_=dlforge.data.sources.table",
        "~data.source.package",
        "~data.source.item",
        "data.target=y",
        "data.classes=[neg,pos]",
        "data.numeric=[x1,x2]",
        "data.categorical=[kind]",
        "trainer.max_epochs=3",
        "train.batch_size=64",
        "callbacks.progress_bar=null",
    ]


def run_entry(stage: str, *args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a stage's real console entry point (`python -m pipelines.<stage>`)."""
    return subprocess.run([sys.executable, "-m", f"pipelines.{stage}", *args], cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600)
