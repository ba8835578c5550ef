"""Structured schema for the keys dlforge itself reads; Hydra checks types at composition.

Sections built by `hydra.utils.instantiate` (data, model, task, trainer, callbacks, logger) are typed
`Any` here and checked against their target's signature by `dlforge.config.validate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class Paths:
    prepared: str = MISSING
    models: str = MISSING
    reports: str = MISSING
    checkpoints: str = MISSING  # train's resumable checkpoints (dlforge.models.resume)


@dataclass
class Tracking:
    uri: str = MISSING
    experiment: str = MISSING
    tags: dict[str, str] = field(default_factory=dict)  # extra run tags; sweeps add trial and parent here


@dataclass
class Split:
    val: float = 0.15
    test: float = 0.15


@dataclass
class Train:
    batch_size: int = 128
    eval_batch_size: int = 1024
    compile: bool = False
    threads: int | None = None  # torch intra-op threads (dlforge.threads)
    tuned_by: str | None = None  # MLflow run id of the sweep whose winner set these values


@dataclass
class Gate:
    metric: str = MISSING
    higher_is_better: bool = True
    min_improvement: float = 0.0
    confidence: float = 0.95
    bootstrap_samples: int = 1000
    seed: int = 42
    replace_incompatible: bool = False  # replace a champion that cannot score today's test set


@dataclass
class Register:
    model_name: str = MISSING
    gate: Gate = field(default_factory=Gate)


@dataclass
class SweepTrial:
    """Set by the dlforge Optuna sweeper for each trial: lets the train stage report to its trial."""

    storage: str | None = None
    study: str | None = None
    trial: int | None = None
    objective: str | None = None
    pruner: Any | None = None  # the sweeper's pruner config: the trial's side of the study must use it too


@dataclass
class Config:
    name: str = MISSING
    seed: int = 42
    split: Split = field(default_factory=Split)
    train: Train = field(default_factory=Train)
    register: Register = field(default_factory=Register)
    paths: Paths = field(default_factory=Paths)
    tracking: Tracking = field(default_factory=Tracking)
    data: Any = MISSING
    model: Any = MISSING
    task: Any = MISSING
    trainer: Any = MISSING
    callbacks: Any = field(default_factory=dict)
    logger: Any | None = None
    curves: Any | None = None  # DVC training curves (conf/curves/): DVCLive's Lightning logger, or none
    print_config: bool = True  # print the composed config as a tree when a stage starts
    sweep: SweepTrial = field(default_factory=SweepTrial)


ConfigStore.instance().store(name="dlforge_schema", node=Config)
