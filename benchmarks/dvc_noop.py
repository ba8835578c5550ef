"""A no-op `dvc repro` of the whole pipeline: what DVC itself costs when nothing changed (target ≤ 3 s).

    python -m benchmarks.dvc_noop [--repeats 5]

In a copy of the checkout (tracked and new files, a fresh git repository), every stage's outputs are
placeholders committed with `dvc commit` (nothing trains), so every stage is up to date. Then it
alternates a bare `dvc version` (DVC's own start-up) with `dvc repro` of every stage, which checks
each stage's deps, params and outputs and runs nothing: median wall and CPU seconds and the spread.
DVC reads dvc.yaml and dvc.lock with ruamel.yaml's safe loader, in C when ruamel.yaml.clib is
installed; then a third side runs `dvc repro` with that C parser hidden (pure-Python YAML).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from importlib.util import find_spec
from pathlib import Path

import yaml

from benchmarks.common import ROOT, alternate, env, median, timed_run

TARGET_S = 3.0
STAGES = ("prepare", "train", "evaluate", "register")
LABELS = {
    "version": "`dvc version` (DVC's start-up)",
    "repro": "`dvc repro`, nothing changed",
    "repro_pure_yaml": "the same with pure-Python YAML (C parser hidden)",
}


def dvc_env(extra_path: str = "") -> dict[str, str]:
    """This venv's `dvc` first on PATH; `extra_path` ahead of PYTHONPATH (to hide the C YAML parser)."""
    run_env = env(PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    if extra_path:
        run_env["PYTHONPATH"] = f"{extra_path}{os.pathsep}{run_env['PYTHONPATH']}"
    return run_env


def up_to_date_copy(dest: Path) -> Path:
    """A copy of this checkout in which every stage is up to date (placeholder outputs, `dvc commit`)."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    for f in files:
        if (ROOT / f).is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, dest / f)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    dvc_yaml = yaml.safe_load((dest / "dvc.yaml").read_text())
    for key in dvc_yaml["vars"][0]["use_cases"]:
        for stage in STAGES:
            for kind in ("outs", "metrics", "plots"):
                for entry in dvc_yaml["stages"][stage]["do"].get(kind, []):
                    out = dest / (next(iter(entry)) if isinstance(entry, dict) else entry).replace("${key}", key)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    if out.suffix == ".json":
                        out.write_text("{}")
                    else:
                        out.mkdir(exist_ok=True)
                        (out / "placeholder").write_text(str(out))
    timed_run(["dvc", "commit", "-f", "-q"], dest, dvc_env())
    return dest


def timed(args: list[str], repo: Path, extra_path: str = "") -> dict[str, float]:
    """Wall and CPU seconds (user + sys) of one `dvc *args`; a `repro` that runs a stage fails."""
    proc, wall, cpu = timed_run(["dvc", *args], repo, dvc_env(extra_path))
    if args[0] == "repro" and "Running stage" in proc.stdout:
        raise SystemExit(f"`dvc repro` ran a stage in an up-to-date copy:\n{proc.stdout[-2000:]}")
    return {"wall": wall, "cpu": cpu}


def measure(repeats: int, tmp: Path) -> dict:
    repo = up_to_date_copy(tmp / "repo")
    dvc_yaml = yaml.safe_load((repo / "dvc.yaml").read_text())
    sides = {"version": lambda: timed(["version"], repo), "repro": lambda: timed(["repro"], repo)}
    c_yaml = find_spec("_ruamel_yaml") is not None
    if c_yaml:  # a module of that name that fails to import shadows the C parser: ruamel.yaml then parses in Python
        (tmp / "pure").mkdir()
        (tmp / "pure" / "_ruamel_yaml.py").write_text("raise ImportError('hidden by benchmarks.dvc_noop')\n")
        sides["repro_pure_yaml"] = lambda: timed(["repro"], repo, str(tmp / "pure"))
    timed(["repro"], repo)  # the first one fills DVC's state database (file hashes by inode and mtime)
    load = os.getloadavg()[0]
    runs = alternate(sides, repeats)
    return {
        "stages": len(dvc_yaml["vars"][0]["use_cases"]) * len(STAGES),
        "deps": sum(len(s["do"]["deps"]) for s in dvc_yaml["stages"].values()),
        "c_yaml": c_yaml,
        "lock_lines": len((repo / "dvc.lock").read_text().splitlines()),
        "load": [load, os.getloadavg()[0]],
        "sides": {name: {k: median([r[k] for r in v]) for k in ("wall", "cpu")} for name, v in runs.items()},
        "runs": runs,
    }


def rows(r: dict) -> list[str]:
    lines = [
        f"{r['stages']} stages; {r['deps']} deps in dvc.yaml's four stage templates; dvc.lock {r['lock_lines']} lines;",
        f"ruamel.yaml's C parser {'installed' if r['c_yaml'] else '**not installed** (ruamel.yaml.clib)'}; load",
        f"average {r['load'][0]:.1f} before the runs, {r['load'][1]:.1f} after (above ~1 the wall times count others' work).",
        "",
        "| side | median wall s | spread s | median CPU s | target |",
        "|---|---|---|---|---|",
    ]
    for name, f in r["sides"].items():
        walls = [run["wall"] for run in r["runs"][name]]
        target = ""
        if name == "repro":
            target = f"≤ {TARGET_S:g} s ({'met' if f['wall'] <= TARGET_S else '**missed**'})"
        lines.append(
            f"| {LABELS[name]} | {f['wall']:.2f} | {min(walls):.2f}-{max(walls):.2f} | {f['cpu']:.2f} | {target} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="also write the raw figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dlforge-bench-") as tmp:
        result = measure(args.repeats, Path(tmp))
    print("\n".join(rows(result)))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
