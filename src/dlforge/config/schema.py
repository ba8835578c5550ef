"""Structured schema for the keys dlforge itself reads; Hydra checks types at composition.

Types only: every value, default included, is written once, in conf/config.yaml (with its comment),
so a field here that config.yaml sets is MISSING. Sections built by `hydra.utils.instantiate` (data, model, task, trainer, callbacks, logger) are typed
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
    checkpoints: str = MISSING  # train's resumable checkpoints (dlforge.models.checkpoints)


@dataclass
class Tracking:
    uri: str = MISSING
    experiment: str = MISSING
    tags: dict[str, str] = MISSING  # extra run tags; sweeps add trial and parent here


@dataclass
class Split:
    val: float = MISSING
    test: float = MISSING


@dataclass
class Train:
    batch_size: int = MISSING
    eval_batch_size: int = MISSING
    batches_per_step: int = MISSING  # mini-batches per Lightning training step (dlforge.models.grouped_steps)
    memory_budget_mb: float = MISSING  # above it, train streams batches from the memory-mapped arrays
    checkpoint_every_s: float = MISSING  # resumable checkpoints written at most this often (dlforge.models.checkpoints)
    compile: bool = MISSING
    threads: int | None = MISSING  # torch intra-op threads (dlforge.threads)
    tuned_by: str | None = MISSING  # MLflow run id of the sweep whose winner set these values


@dataclass
class Gate:
    metric: str = MISSING
    min_improvement: float = MISSING
    confidence: float = MISSING
    bootstrap_samples: int = MISSING
    seed: int = MISSING
    replace_incompatible: bool = MISSING  # replace a champion that cannot score today's test set


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
    seed: int = MISSING
    split: Split = field(default_factory=Split)
    train: Train = field(default_factory=Train)
    register: Register = field(default_factory=Register)
    paths: Paths = field(default_factory=Paths)
    tracking: Tracking = field(default_factory=Tracking)
    data: Any = MISSING
    model: Any = MISSING
    task: Any = MISSING
    trainer: Any = MISSING
    callbacks: Any = MISSING
    logger: Any | None = MISSING
    curves: Any | None = MISSING  # DVC training curves (conf/curves/): DVCLive's Lightning logger, or none
    print_config: bool = MISSING  # print the composed config as a tree when a stage starts
    sweep: SweepTrial = field(default_factory=SweepTrial)


ConfigStore.instance().store(name="dlforge_schema", node=Config)
