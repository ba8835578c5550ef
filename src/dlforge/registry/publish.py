"""Log the servable model into the training run and register a version (aliases: dlforge.registry.aliases).

The logged model is an MLflow 3 LoggedModel: `log_model` links the run's step-0 metrics to it (its
model id), among them evaluate's `test_*` (the network) and `<baseline>_test_*`, so the run's
"Models" column and the model's own page show the test metrics.
"""

from __future__ import annotations

import importlib.metadata as md
import warnings
from pathlib import Path
from typing import Any

import mlflow
import mlflow.pyfunc

import dlforge
from dlforge import keys as K
from dlforge import names
from dlforge.data.prepared import Prepared
from dlforge.io import write_json
from dlforge.serving import pyfunc

# What the served model imports; exact versions from this environment (the lock file).
APPLIED = K.GATE_APPLIED  # version tag: its gate decision is recorded and its aliases moved

_REQUIREMENTS = ("torch", "torchmetrics", "numpy", "pandas", "pyarrow", "hydra-core", "mlflow")


def _requirements() -> list[str]:
    return [f"{name}=={md.version(name).split('+')[0]}" for name in _REQUIREMENTS]


def log_model(run_id: str, net_path: Path, prepared: Prepared, serving: type, requests: Any, workdir: Path) -> str:
    """Log preprocessing + network as one pyfunc model in run `run_id`; return its model URI.

    `serving` is the task's Serving class (dlforge.tasks.base): task.json names it by its stable name,
    and its `signature(example, output)` gives the signature from the first `requests` (raw test inputs).
    """
    write_json(workdir / "task.json", {"_target_": names.stable(f"{serving.__module__}.{serving.__qualname__}")})
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
    with mlflow.start_run(run_id=run_id):
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=pyfunc.__file__,
            artifacts=artifacts,
            code_paths=[str(Path(dlforge.__file__).parent)],
            signature=signature,
            input_example=example,
            pip_requirements=_requirements(),
        )
    return info.model_uri


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
