"""`dlforge dockerfile MODEL DIR`: a Docker build context that serves a registered model (default: its champion).

Runs MLflow's own `mlflow models generate-dockerfile` on the version MODEL names (NAME, NAME@ALIAS
or NAME/VERSION, resolved in the registry so the Dockerfile's model is fixed even if the alias
moves later). DIR gets the Dockerfile and model_dir/ (the model with its pinned requirements.txt
and dlforge's code). Then, where a Docker daemon runs:

    docker build -t NAME DIR && docker run -p 5001:8080 NAME
    curl localhost:5001/invocations -H 'Content-Type: application/json' -d @DIR/model_dir/serving_input_example.json

DIR is written whole or not at all (a temp folder beside it, renamed); an existing non-empty DIR is refused.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from dlforge.errors import UserError
from dlforge.io import atomic_dir


def add_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dockerfile", help="generate a Dockerfile that serves a registered model (default: its champion)"
    )
    p.add_argument("model", help="registered model name, optionally @alias or /version (default @champion)")
    p.add_argument("dir", help="output folder for Dockerfile and model_dir/ (must not exist or be empty)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> Path:
    from mlflow.tracking import MlflowClient

    from dlforge.cli.registry import resolve

    out = Path(args.dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"'{out}': already exists and is not an empty folder; choose a new one")
    version = resolve(MlflowClient(args.tracking_uri), args.model)
    uri = f"models:/{version.name}/{version.version}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": args.tracking_uri, "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
    with atomic_dir(out) as tmp:
        cmd = [sys.executable, "-m", "mlflow", "models", "generate-dockerfile", "-m", uri, "-d", str(tmp)]
        result = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if result.returncode:
            raise RuntimeError(f"mlflow models generate-dockerfile failed: {result.stderr.strip()[-400:]}")
    print(
        f"{out}/Dockerfile serves {version.name} v{version.version} ({uri}); build it: docker build -t {version.name.lower()} {out}"
    )
    return out
