"""Log the servable model into the training run and register a version (aliases: dlforge.registry.aliases).

The logged model is an MLflow 3 LoggedModel named after the use case. Its metrics (the run's "Models"
column, the model's own page) are the network's test metrics (evaluate's `test_*`, on the test split's
dataset) and the validation metrics of the epoch its weights come from (on the val split's dataset):
`log_model` is given a step past every metric of the run, so that MLflow links none by step, and these
points are linked explicitly (the same points, with the model's id: the run's curves do not change).
"""

from __future__ import annotations

import importlib.metadata as md
import warnings
from pathlib import Path
from typing import Any

import mlflow
import mlflow.pyfunc

import dlforge
from dlforge import class_names
from dlforge import keys as K
from dlforge.data.prepared import Prepared
from dlforge.io import write_json
from dlforge.serving import pyfunc
from dlforge.tracking.datasets import DIGEST_CHARS

# What the served model imports; exact versions from this environment (the lock file).
APPLIED = K.GATE_APPLIED  # version tag: its gate decision is recorded and its aliases moved

_REQUIREMENTS = ("torch", "torchmetrics", "numpy", "pandas", "pyarrow", "hydra-core", "mlflow")


def _requirements() -> list[str]:
    return [f"{name}=={md.version(name).split('+')[0]}" for name in _REQUIREMENTS]


def log_model(
    run_id: str,
    name: str,
    best_epoch: int | None,
    net_path: Path,
    prepared: Prepared,
    serving: type,
    requests: Any,
    workdir: Path,
) -> str:
    """Log preprocessing + network as one pyfunc model named `name` in run `run_id`; return its model URI.
    `best_epoch`: the epoch whose weights train exported (its validation metrics go on the model).

    `serving` is the task's Serving class (dlforge.tasks.base): task.json names it by its stable name,
    and its `signature(example, output)` gives the signature from the first `requests` (raw test inputs).
    """
    write_json(workdir / "task.json", {"_target_": class_names.stable(f"{serving.__module__}.{serving.__qualname__}")})
    artifacts = {
        "net": str(net_path),
        "preprocess": str(prepared.path / "preprocess.json"),
        "task": str(workdir / "task.json"),
    }
    local = pyfunc.DlforgeModel()
    local.load_context(mlflow.pyfunc.PythonModelContext(artifacts=artifacts, model_config={}))
    example = requests[:5]
    with warnings.catch_warnings():  # integer labels: MLflow's hint about missing values does not apply
        warnings.filterwarnings("ignore", message=".*Inferred schema contains integer column")
        signature = serving.signature(example, local.predict(None, example))
    signature = pyfunc.servable_signature(signature)  # the preprocessor checks and casts requests
    client = mlflow.MlflowClient()
    history = {k: client.get_metric_history(run_id, k) for k in client.get_run(run_id).data.metrics}
    after_all = 1 + max((m.step for points in history.values() for m in points), default=-1)
    with mlflow.start_run(run_id=run_id):
        info = mlflow.pyfunc.log_model(
            name=name,
            step=after_all,  # no metric there: MLflow links none by step
            python_model=pyfunc.__file__,
            artifacts=artifacts,
            code_paths=[str(Path(dlforge.__file__).parent)],
            signature=signature,
            input_example=example,
            pip_requirements=_requirements(),
        )
    link_metrics(client, run_id, info.model_id, name, history, best_epoch)
    return info.model_uri


def link_metrics(
    client: Any, run_id: str, model_id: str, name: str, history: dict[str, list], best_epoch: int | None
) -> None:
    """Link the network's test metrics and `best_epoch`'s validation metrics to the model, each on its split's
    dataset. The points keep their step and time, so the run's histories stay as they are."""
    from mlflow.entities import Metric

    digest = client.get_run(run_id).data.tags[K.DATA_HASH][:DIGEST_CHARS]
    best_steps = {m.step for m in history.get("epoch", []) if m.value == best_epoch}
    linked = []
    for key, points in history.items():
        split = "test" if key.startswith("test_") else "val" if key.startswith("val_") else None
        if split == "val":
            points = [m for m in points if m.step in best_steps]
        if split and points:
            m = points[-1]
            linked.append(
                Metric(
                    m.key,
                    m.value,
                    m.timestamp,
                    m.step,
                    run_id=run_id,
                    model_id=model_id,
                    dataset_name=f"{name}-{split}",
                    dataset_digest=digest,
                )
            )
    client.log_batch(run_id, metrics=linked)


def load(model_uri: str) -> Any:
    """The logged pyfunc model (predict with `.predict(raw)`)."""
    return mlflow.pyfunc.load_model(model_uri)


def predict(model_uri: str, raw: Any) -> Any:
    return load(model_uri).predict(raw)


def register(model_uri: str, name: str, tags: dict[str, str]) -> Any:
    return mlflow.register_model(model_uri, name, tags=tags)


def unapplied_version(client: Any, name: str, run_id: str) -> Any | None:
    """The version registered from `run_id` whose gate decision was never applied (a killed register)."""
    from mlflow.exceptions import MlflowException

    try:
        versions = client.search_model_versions(f"name='{name}' and run_id='{run_id}'")
    except MlflowException as e:
        if e.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
            return None
        raise
    left = [v for v in versions if v.tags.get(APPLIED) != "true"]
    return max(left, key=lambda v: int(v.version)) if left else None
