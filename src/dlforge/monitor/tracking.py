"""The monitor's MLflow run, in the use case's experiment, linked to the champion version it judged.

Tags: the model, the version judged, the batch and the verdict (dlforge.keys MONITOR_*); the version
gets the run's id and verdict (MONITOR_LAST_*), so its page leads to its latest judgement. The batch is
the run's dataset input (context `monitor`, its digest the batch file's hash), every drift figure a
metric (`input.<column>.psi`, `prediction.<column>.p_value`, `batch_<metric>`, ...), the report folder
its artifacts under `monitor/`.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

from dlforge import keys as K
from dlforge.monitor.reference import Champion

FIGURES = ("psi", "p_value", "missing", "unseen")


def metric_key(*parts: str) -> str:
    """An MLflow metric name (letters, digits, _ - . / and spaces) from column names of any spelling."""
    return ".".join(re.sub(r"[^\w\-/ ]", "_", p) for p in parts)


def metrics(inputs: dict[str, dict], predictions: dict[str, dict], labels: dict[str, Any] | None) -> dict[str, float]:
    out = {}
    for side, columns in (("input", inputs), ("prediction", predictions)):
        for c, v in columns.items():
            out.update({metric_key(side, c, f): float(v[f]) for f in FIGURES})
        out[f"{side}_columns_drifted"] = float(sum(v["drift"] for v in columns.values()))
    if labels is not None:
        m = labels["metric"]
        out.update(
            {
                f"batch_{m}": labels["batch"],
                f"batch_{m}_ci_low": labels["ci_low"],
                f"batch_{m}_ci_high": labels["ci_high"],
            }
        )
    return out


def log(
    client: Any,
    champion: Champion,
    batch: str,
    path: Path,
    data: Any,
    digest: str,
    figures: dict[str, float],
    verdict: str,
    report: Path,
) -> str:
    """Start, fill and end the run (MLflow's tracking URI already set); returns its id."""
    import mlflow

    from dlforge.tracking.datasets import DIGEST_CHARS

    tags = {
        K.MONITOR_MODEL: champion.name,
        K.MONITOR_VERSION: str(champion.version),
        K.MONITOR_BATCH: batch,
        K.MONITOR_VERDICT: verdict,
    }
    with mlflow.start_run(experiment_id=champion.experiment_id, run_name=f"monitor-{batch}", tags=tags) as run:
        mlflow.log_input(_dataset(data, path, batch, digest[:DIGEST_CHARS]), context=K.MONITOR_CONTEXT)
        mlflow.log_metrics(figures)
        mlflow.log_artifacts(str(report), "monitor")
    client.set_model_version_tag(champion.name, str(champion.version), K.MONITOR_LAST_RUN, run.info.run_id)
    client.set_model_version_tag(champion.name, str(champion.version), K.MONITOR_LAST_VERDICT, verdict)
    return run.info.run_id


def _dataset(data: Any, path: Path, name: str, digest: str) -> Any:
    """The batch as an MLflow dataset: a table as itself, arrays or clips as their summary table."""
    import mlflow.data
    import numpy as np
    import pandas as pd

    with warnings.catch_warnings():  # a local path matches two equivalent local source kinds
        warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted")
        source = str(path.resolve())
        if isinstance(data, np.ndarray):
            dataset = mlflow.data.from_numpy(data, source=source, name=name, digest=digest)
        else:
            frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
            dataset = mlflow.data.from_pandas(frame, source=source, name=name, digest=digest)
    return dataset
