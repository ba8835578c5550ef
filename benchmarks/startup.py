"""Start-up: what the stages cost beyond their work, as a ratio to a bare `python -c "import torch"`.

    python -m benchmarks.startup [--repeats 3] [--use-case digits]

Alternately runs (1) `python -c "import torch"`, (2) the prepare stage, (3) train + evaluate +
register of the use case as `dvc repro` runs them after a model edit (production config, MLflow in a
scratch SQLite store), each with `-X importtime`. Reports each side's median wall time, its ratio to
the bare torch import, and per stage the seconds spent importing modules (the top-level imports of
`-X importtime`: start-up) next to the rest (the stage's work: data, training, evaluation,
registration), and the CPU seconds (user + sys) of its process: steadier than wall time on a machine
whose cores other jobs share.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

from benchmarks.common import ROOT, env, median, scratch_store, timed_run

TARGETS = {"prepare": 1.5, "train+evaluate+register": 8.0}
WORK = {"torch": "-", "prepare": "data", "train": "training", "evaluate": "evaluation", "register": "registration"}


def timed(args: list[str]) -> tuple[float, float, float]:
    """(wall seconds, seconds importing modules, CPU seconds) of `python -X importtime *args`."""
    proc, wall, cpu = timed_run([sys.executable, "-X", "importtime", *args], ROOT, env())
    imports = 0
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", line)  # no indent: a top-level import
        if m:
            imports += int(m.group(1))
    return wall, imports / 1e6, cpu


def measure(use_case: str, repeats: int, tmp: Path) -> dict:
    overrides = [
        f"experiment={use_case}",
        f"paths.prepared={tmp}/prepared",
        f"paths.models={tmp}/models",
        f"paths.reports={tmp}/reports",
        f"tracking.uri={scratch_store(tmp / 'mlflow', use_case)}",
    ]
    stage = {s: ["-m", f"pipelines.{s}", *overrides] for s in ("prepare", "train", "evaluate", "register")}
    runs: dict[str, list] = {"torch": [], "prepare": [], "train": [], "evaluate": [], "register": []}
    for _ in range(repeats):
        runs["torch"].append(timed(["-c", "import torch"]))
        runs["prepare"].append(timed(stage["prepare"]))
        for s in ("train", "evaluate", "register"):
            runs[s].append(timed(stage[s]))
    walls, cpus = ({k: [r[j] for r in v] for k, v in runs.items()} for j in (0, 2))
    chain = [sum(walls[s][i] for s in ("train", "evaluate", "register")) for i in range(repeats)]
    chain_cpu = [sum(cpus[s][i] for s in ("train", "evaluate", "register")) for i in range(repeats)]
    return {
        "use_case": use_case,
        "torch_s": median(walls["torch"]),
        "torch_cpu_s": median(cpus["torch"]),
        "sides": {"prepare": median(walls["prepare"]), "train+evaluate+register": median(chain)},
        "sides_cpu": {"prepare": median(cpus["prepare"]), "train+evaluate+register": median(chain_cpu)},
        "stages": {
            s: {"wall": median(walls[s]), "imports": median([r[1] for r in runs[s]]), "cpu": median(cpus[s])}
            for s in runs
        },
        "runs": runs,
    }


def rows(r: dict) -> list[str]:
    lines = [
        f'Bare `python -c "import torch"`: {r["torch_s"]:.2f} s wall, {r["torch_cpu_s"]:.2f} s CPU (medians).',
        "",
        "| side | median wall s | ratio to `import torch` | CPU s | CPU ratio | target |",
        "|---|---|---|---|---|---|",
    ]
    for side, wall in r["sides"].items():
        ratio, target, cpu = wall / r["torch_s"], TARGETS[side], r["sides_cpu"][side]
        mark = "met" if ratio <= target else "**missed**"
        lines.append(
            f"| {side} ({r['use_case']}) | {wall:.2f} | {ratio:.1f}x | {cpu:.2f} | {cpu / r['torch_cpu_s']:.1f}x "
            f"| ≤ {target}x ({mark}) |"
        )
    lines += [
        "",
        "| stage | median wall s | start-up: importing modules s | the rest: its work s | work | CPU s |",
        "|---|---|---|---|---|---|",
    ]
    for s, f in r["stages"].items():
        lines.append(
            f"| {s} | {f['wall']:.2f} | {f['imports']:.2f} | {f['wall'] - f['imports']:.2f} | {WORK[s]} | {f['cpu']:.2f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--use-case", default="digits")
    parser.add_argument("--json", help="also write the raw figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dlforge-bench-") as tmp:
        result = measure(args.use_case, args.repeats, Path(tmp))
    print("\n".join(rows(result)))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
