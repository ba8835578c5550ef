"""`dlforge lineage`: from a model version back to the code and data that made it, and rebuild it.

A version carries its run's lineage tags (git commit, dirty flag, prepared-data hash) and the run holds
the composed config (config.yaml). `--rebuild` clones the repository at that commit into a scratch
folder and runs that commit's own prepare, train and evaluate stages on the logged config (tracking
off). It compares the hash of the prepared data with the recorded one, and the rebuilt test metrics
with the ones the version's run logged: on CPU with the same seed both must be equal.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from dlforge import keys as K
from dlforge.errors import UserError

_REBUILD = (
    "import sys; from omegaconf import OmegaConf; from pipelines import evaluate, prepare, train; "
    "cfg = OmegaConf.load(sys.argv[1]); prepare.run(cfg); train.run(cfg); evaluate.run(cfg)"
)


def add_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lineage", help="code, data and config behind a version; --rebuild re-makes its data and compares"
    )
    p.add_argument("ref", help="NAME (its champion), NAME@ALIAS or NAME/VERSION")
    p.add_argument(
        "--rebuild",
        action="store_true",
        help="clone the repo at the version's commit, re-run prepare, train and evaluate, compare",
    )
    p.add_argument("--repo", default=".", help="git repository holding the commit (default: the current folder)")
    p.add_argument("--workdir", help="where to clone (default: a temp folder, removed afterwards)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def lineage(client: Any, ref: str) -> dict[str, Any]:
    """The version's lineage: run, commit, dirty flag, data hash and the logged config text."""
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException

    from dlforge.cli.registry import resolve

    v = resolve(client, ref)
    tags = {**client.get_run(v.run_id).data.tags, **v.tags}
    try:
        config = mlflow.artifacts.load_text(f"runs:/{v.run_id}/config.yaml")
    except (MlflowException, OSError):  # a run logged before train wrote config.yaml has none: shown as absent
        config = None
    metrics = {
        k.removeprefix("test_"): v for k, v in client.get_run(v.run_id).data.metrics.items() if k.startswith("test_")
    }
    return {
        "name": v.name,
        "version": int(v.version),
        "run_id": v.run_id,
        "git_commit": tags.get(K.GIT_COMMIT),
        "git_dirty": tags.get(K.GIT_DIRTY),
        "data_hash": tags.get(K.DATA_HASH),
        "test_metrics": metrics,
        "config": config,
    }


def rebuild(info: dict[str, Any], repo: Path, workdir: Path) -> dict[str, Any]:
    """Clone `repo` at the recorded commit into `workdir`, re-run its stages, compare data hash and test metrics."""
    from omegaconf import OmegaConf

    from dlforge.io import tree_hash

    where = f"{info['name']} v{info['version']}"
    if not info["git_commit"] or info["git_commit"] == "unknown" or not info["data_hash"]:
        raise UserError(f"{where}: has no lineage tags (dlforge.git_commit, dlforge.data_hash) to rebuild from")
    if info["git_dirty"] != "false":
        raise UserError(
            f"{where}: was trained from a dirty work tree (dlforge.git_dirty={info['git_dirty']}); commit {info['git_commit'][:10]} alone cannot rebuild it"
        )
    if info["config"] is None:
        raise UserError(f"{where}: run {info['run_id']} has no config.yaml artifact to rebuild from")
    if _git(["cat-file", "-e", f"{info['git_commit']}^{{commit}}"], repo).returncode:
        raise UserError(
            f"{where}: commit {info['git_commit'][:10]} is not in the repository '{repo}' (fetch it, or pass --repo)"
        )
    clone = workdir / "repo"
    for args in (
        ["clone", "--quiet", "--no-checkout", str(repo.resolve()), str(clone)],
        ["-C", str(clone), "checkout", "--quiet", "--detach", info["git_commit"]],
    ):
        r = _git(args, Path.cwd())
        if r.returncode:
            raise UserError(f"{where}: git {' '.join(args[:2])} failed: {' '.join(r.stderr.split())[:200]}")
    cfg = OmegaConf.create(info["config"])
    out = workdir / "prepared"
    cfg.paths.prepared, cfg.paths.models, cfg.paths.reports = (
        str(out),
        str(workdir / "models"),
        str(workdir / "reports"),
    )
    cfg.logger = {}  # tracking off: the rebuild must not add runs to the store it is checked against
    OmegaConf.save(cfg, workdir / "config.yaml")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(clone / "src"), str(clone)]),
    }  # that commit's code, not ours
    r = subprocess.run(
        [sys.executable, "-c", _REBUILD, str(workdir / "config.yaml")],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if r.returncode:
        raise UserError(f"{where}: the stages at {info['git_commit'][:10]} failed: {' '.join(r.stderr.split())[-300:]}")
    rebuilt = tree_hash(out)
    metrics = json.loads((workdir / "reports" / "metrics.json").read_text())["model"]
    differ = {k: [v, metrics.get(k)] for k, v in info["test_metrics"].items() if metrics.get(k) != v}
    return {
        "rebuilt_hash": rebuilt,
        "rebuilt_metrics": metrics,
        "data_reproduced": rebuilt == info["data_hash"],
        "metrics_differ": differ,
        "reproduced": rebuilt == info["data_hash"] and not differ and bool(info["test_metrics"]),
    }


def run(args: argparse.Namespace) -> None:
    import mlflow

    mlflow.set_tracking_uri(args.tracking_uri)
    info = lineage(mlflow.MlflowClient(args.tracking_uri), args.ref)
    if args.rebuild:
        if args.workdir:
            Path(args.workdir).mkdir(parents=True, exist_ok=True)
            info.update(rebuild(info, Path(args.repo), Path(args.workdir)))
        else:
            with tempfile.TemporaryDirectory(prefix="dlforge-lineage-") as tmp:
                info.update(rebuild(info, Path(args.repo), Path(tmp)))
    if args.json:
        print(json.dumps({k: v for k, v in info.items() if k != "config"}, indent=2, sort_keys=True))
    else:
        print(f"{info['name']} v{info['version']}  run {info['run_id']}")
        print(f"  code  git {info['git_commit']} (dirty: {info['git_dirty']})")
        print(f"  data  sha256 {info['data_hash']}")
        if "reproduced" in info:
            data = (
                "same data hash"
                if info["data_reproduced"]
                else f"NOT reproduced: rebuilt data hashes to {info['rebuilt_hash']}"
            )
            print(f"  rebuild at that commit → {data}")
            for k, v in info["rebuilt_metrics"].items():
                recorded = info["test_metrics"].get(k)
                print(f"    test {k:<10} recorded {recorded}  rebuilt {v}  {'equal' if recorded == v else 'DIFFERENT'}")
            print("  reproduced" if info["reproduced"] else "  NOT reproduced")
    if info.get("reproduced") is False:
        raise SystemExit(1)


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
