"""Write a study's best trial into a use case's experiment config, so `dvc repro` trains it.

The winner goes into conf/experiment/<use case>.yaml itself rather than a new `_tuned` file: that
file is already the pipeline's config (its sections are DVC params), so the change re-runs exactly
train → evaluate → register, and `git diff` shows what the sweep changed. Comments and layout are
kept (ruamel round-trip); `train.tuned_by` records the sweep's MLflow parent run, which the
training run and the registered version then carry as `dlforge.sweep_run_id`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from dlforge.errors import UserError


def best_params(storage: str, study: str) -> tuple[int, float, dict[str, Any]]:
    """(trial number, value, params) of the study's best complete trial."""
    import optuna

    try:
        s = optuna.load_study(study_name=study, storage=storage)
    except KeyError as e:
        raise UserError(f"no Optuna study '{study}' in {storage}: run the sweep first") from e
    if not any(t.state.name == "COMPLETE" for t in s.trials):
        raise UserError(f"study '{study}' has no complete trial yet")
    best = s.best_trial
    return best.number, best.value, {k: _decode(v) for k, v in best.params.items()}


def _decode(value: Any) -> Any:
    """Categorical list choices travel as override text ('[64,32]'); turn them back into lists."""
    return yaml.safe_load(value) if isinstance(value, str) and value.startswith("[") else value


def write_winner(path: Path, params: dict[str, Any], sweep_run_id: str | None) -> None:
    """Set each dotted key in the experiment file (atomically), keeping its comments."""
    rt = YAML()
    rt.preserve_quotes = True
    doc = rt.load(path.read_text())
    for key, value in {**params, "train.tuned_by": sweep_run_id}.items():
        *parents, leaf = key.split(".")
        node = doc
        for p in parents:
            if not isinstance(node.get(p), dict):
                node[p] = CommentedMap()
            node = node[p]
        if isinstance(value, list):
            value = CommentedSeq(value)
            value.fa.set_flow_style()
        node[leaf] = value
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        rt.dump(doc, f)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
