"""Small helpers over the MLflow client; the tracking URI always comes from config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlflow.tracking import MlflowClient

from dlforge.errors import UserError
from dlforge.io import read_json, write_json


def client(uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri=uri)


def write_run_ref(path: Path, run_id: str | None, uri: str | None, experiment: str | None, **facts: Any) -> None:
    """The train stage's record of its MLflow run: later stages log into the same run."""
    write_json(path, {"run_id": run_id, "tracking_uri": uri, "experiment": experiment, **facts})


def read_run_ref(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise UserError(f"'{path}' not found: run the train stage first")
    return read_json(path)


def require_run(ref: dict[str, Any], stage: str) -> str:
    if not ref.get("run_id"):
        raise UserError(
            f"{stage} needs an MLflow run, but training ran with logger=none; train again with logger=mlflow"
        )
    return ref["run_id"]


def exists(client: MlflowClient, run_id: str) -> bool:
    """Whether `run_id` is a live (not deleted) run in this store."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_run(run_id).info.lifecycle_stage == "active"
    except MlflowException as e:
        if e.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
            return False
        raise
