"""`@hydra.main` around a stage's plain `run(cfg)`, with user errors printed as one line.

Hydra composes and validates the config (the typed schema in dlforge.config.schema); any error the
user can fix — an unknown option, a wrong type, a missing key, bad data — ends as `error: …` on
stderr and exit code 2. HYDRA_FULL_ERROR=1 shows the full traceback instead. With `print_config`
(the default) the composed config is printed as a tree first (dlforge.config.tree).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
from hydra.errors import HydraException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

import dlforge.config.schema  # noqa: F401  (registers the schema Hydra merges first)
from dlforge import gc_tuning
from dlforge.config.tree import print_tree
from dlforge.errors import UserError

CONF = Path(__file__).resolve().parent.parent / "conf"
_USER_ERRORS = (UserError, HydraException, OmegaConfBaseException)


def one_line(e: BaseException) -> str:
    """The error and its causes on one line; Hydra's search-path listing dropped.

    A UserError's message is complete (it already says what the cause means), so the chain stops
    there; a cause whose text is already part of the line is not repeated.
    """
    parts: list[str] = []
    while e is not None:
        text = " ".join(str(e).split("\nConfig search path")[0].split())
        if text and not any(text in p for p in parts):
            parts.append(text)
        if isinstance(e, UserError):
            break
        e = e.__cause__
    return " ".join(parts)


def hydra_entry(run: Callable[[DictConfig], Any]) -> Callable[[], Any]:
    """Build the console entry for `run`; Hydra options (-m, --cfg job, overrides) all work."""

    full = {"traceback": False}  # the user's HYDRA_FULL_ERROR, read when main() starts

    def fail(e: BaseException) -> None:
        if full["traceback"]:
            raise e
        print(f"error: {one_line(e)}", file=sys.stderr)
        sys.exit(2)

    def refused(e: Exception) -> None:
        """The tracking server said 403: the user lacks a permission. One line, not a traceback."""
        text = str(e)
        if getattr(e, "error_code", "") != "PERMISSION_DENIED" and "403 != 200" not in text:
            raise e
        endpoint = text.split("API request to endpoint ")[-1].split(" failed")[0] if "endpoint" in text else "a request"
        user = os.environ.get("MLFLOW_TRACKING_USERNAME", "(no user)")
        fail(
            UserError(
                f"the MLflow server denied user '{user}' permission for {endpoint}; "
                "ask its admin for EDIT or MANAGE on this experiment/model"
            )
        )

    @hydra.main(config_path=str(CONF), config_name="config", version_base="1.3")
    def _main(cfg: DictConfig) -> Any:
        gc_tuning.tune()  # a process that runs jobs (a sweep's joblib workers too): dlforge.gc_tuning
        try:
            if cfg.get("print_config"):  # conf/config.yaml: the composed config as a tree first
                print_tree(cfg)
            return run(cfg)
        except _USER_ERRORS as e:  # caught here, before Hydra logs the job as failed
            fail(e)
        except Exception as e:
            if type(e).__module__.startswith("mlflow"):
                refused(e)
            raise

    def main() -> Any:
        asked = os.environ.get("HYDRA_FULL_ERROR")
        full["traceback"] = asked == "1"
        os.environ["HYDRA_FULL_ERROR"] = "1"  # composition errors reach us instead of Hydra's report
        try:
            return _main()
        except _USER_ERRORS as e:
            fail(e)
        finally:
            if asked is None:
                os.environ.pop("HYDRA_FULL_ERROR", None)
            else:
                os.environ["HYDRA_FULL_ERROR"] = asked

    return main
