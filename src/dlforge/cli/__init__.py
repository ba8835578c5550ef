"""`dlforge`: the model registry from the command line (list, describe, promote, rollback, lineage, predict, monitor, dockerfile).

Registry commands import only the MLflow client and rich, so they answer in about a second; only
`predict` and `monitor` load torch (through the served model). Bad input ends as one `error: …` line, exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from dlforge.errors import UserError

DEFAULT_URI = "sqlite:///mlflow.db"


def _parser() -> argparse.ArgumentParser:
    from dlforge.cli import dockerfile, lineage, monitor, registry

    p = argparse.ArgumentParser(prog="dlforge", description=__doc__.splitlines()[0])
    p.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI", DEFAULT_URI),
        help="MLflow store or server (default: $MLFLOW_TRACKING_URI, else %(default)s)",
    )
    p.add_argument("--verbose", action="store_true", help="full tracebacks")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    registry.add_commands(sub)
    lineage.add_command(sub)
    dockerfile.add_command(sub)
    pr = sub.add_parser(
        "predict",
        help="score a CSV/Parquet/NPY file or a folder of WAVs with a registered model (default: its champion)",
    )
    pr.add_argument("model", help="registered model name, optionally @alias or /version (default @champion)")
    pr.add_argument("input", help="raw inputs: .csv or .parquet (columns), .npy (images), a folder of .wav clips")
    pr.add_argument("output", help="predictions: .csv or .parquet, written atomically")
    pr.set_defaults(func=lambda args: __import__("dlforge.cli.predict", fromlist=["run"]).run(args))
    monitor.add_command(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # stderr stays one line on errors
    try:
        code = args.func(args)
    except UserError as e:
        if args.verbose:
            raise
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except Exception as e:  # an unreachable server, a broken store: still one line unless --verbose
        if args.verbose:
            raise
        print(
            f"error: {type(e).__name__}: {' '.join(str(e).split())[:400]} (--verbose for the traceback)",
            file=sys.stderr,
        )
        return 1
    return (
        code if isinstance(code, int) else 0
    )  # monitor returns its verdict's code; other commands return None or a value


def run() -> None:
    sys.exit(main())
