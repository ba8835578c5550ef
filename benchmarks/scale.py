"""Scale: the four stages of a tabular use case on a small and a 10x larger synthetic credit table.

    python -m benchmarks.scale [--rows 100000 1000000] [--repeats 1] [--json out.json]
    python -m benchmarks.scale --rows 1000000 10000000     # the issue's sizes (~30 min on 2 cores)

Generates the tables (benchmarks/make_credit_table.py, into a temporary folder: never committed),
runs prepare → train (one epoch) → evaluate → register of `byo_tabular` on each as separate processes
(production config, MLflow in a scratch SQLite store) and records each stage's wall time and peak
RSS (os.wait4's rusage of that child), and its CPU seconds (user + system) beside them.
Targets: each stage's wall time grows at most linearly (ratio of the two sizes' times ≤ 1.1 × the row
ratio: 11x for 10x rows) and no stage's peak RSS exceeds 6 GB. Run it on a machine of its own: wall
time swings with other jobs (CPU time, beside it, much less).
The default sizes (100k and 1M rows) keep the whole benchmark within ~5 minutes; fixed costs
(imports, MLflow) make their ratios smaller than the 1M → 10M ones.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, env, median, scratch_store
from benchmarks.make_credit_table import CATEGORICAL, NUMERIC

STAGES = ("prepare", "train", "evaluate", "register")
RSS_LIMIT_GB = 6.0
SLACK = 1.1  # "at most linearly": time ratio ≤ 1.1 × row ratio (11x from 1M to 10M rows)


def overrides(table: Path, out: Path, store: str) -> list[str]:
    return [
        "experiment=byo_tabular",
        f"data.source.path={table}",
        "data.target=default",
        "data.classes=[No,Yes]",
        f"data.numeric=[{','.join(NUMERIC)}]",
        f"data.categorical=[{','.join(CATEGORICAL)}]",
        "data.unknown_categories=ignore",  # rare repayment states (pay_n = 7, 8) can fall in val/test only
        "trainer.max_epochs=1",
        "train.batch_size=1024",  # byo_tabular's 32 suits its 200-row example, not millions of rows
        "curves=none",
        "print_config=false",
        f"paths.prepared={out}/prepared",
        f"paths.models={out}/models",
        f"paths.reports={out}/reports",
        f"paths.checkpoints={out}/checkpoints",
        f"tracking.uri={store}",
    ]


def child(args: list[str], log: Path) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS in GB) of `python *args`, output to `log`; fails loudly on a non-zero exit."""
    with open(log, "w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env(), stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"benchmark step failed: python {' '.join(args)}\n{log.read_text()[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 2**20  # ru_maxrss is in KiB on Linux


def measure(tmp: Path, repeats: int, sizes: tuple[int, int] = (100_000, 1_000_000)) -> dict:
    """Each size: generate the table once, then `repeats` runs of the four stages (fresh store each time)."""
    result: dict = {"sizes": list(sizes), "stages": {}}
    tmp.mkdir(parents=True, exist_ok=True)
    for n in sizes:
        table = tmp / f"credit_{n}.parquet"
        child(["-m", "benchmarks.make_credit_table", "--rows", str(n), "--out", str(table)], tmp / "generate.log")
        runs: dict[str, list[tuple[float, float, float]]] = {s: [] for s in STAGES}
        for r in range(repeats):
            out = tmp / f"run_{n}_{r}"
            out.mkdir()
            args = overrides(table, out, scratch_store(out / "mlflow", "byo_tabular"))  # one store for the four stages
            for s in STAGES:
                runs[s].append(child(["-m", f"pipelines.{s}", *args], out / f"{s}.log"))
        result["stages"][str(n)] = {
            s: {
                "wall": median([r[0] for r in v]),
                "cpu": median([r[1] for r in v]),
                "rss_gb": max(r[2] for r in v),
                "runs": v,
            }
            for s, v in runs.items()
        }
        table.unlink()
    return result


def rows(r: dict) -> list[str]:
    """Judged on wall time (the benchmark runs on a machine of its own); CPU time beside it."""
    small, large = r["sizes"]
    limit = SLACK * large / small
    lines = [
        f"| stage | wall s {small:,} / {large:,} rows | wall ratio (≤ {limit:.0f}x) | CPU s {small:,} / {large:,} "
        f"| CPU ratio | peak RSS GB {small:,} / {large:,} (≤ {RSS_LIMIT_GB:g}) | |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in STAGES:
        a, b = r["stages"][str(small)][s], r["stages"][str(large)][s]
        ratio = b["wall"] / a["wall"]
        met = ratio <= limit and max(a["rss_gb"], b["rss_gb"]) <= RSS_LIMIT_GB
        lines.append(
            f"| {s} | {a['wall']:.1f} / {b['wall']:.1f} | {ratio:.1f}x | {a['cpu']:.1f} / {b['cpu']:.1f} | "
            f"{b['cpu'] / a['cpu']:.1f}x | {a['rss_gb']:.2f} / {b['rss_gb']:.2f} | {'met' if met else '**missed**'} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs=2, default=[100_000, 1_000_000], help="the two table sizes")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", help="also write the raw figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dlforge-bench-") as tmp:
        result = measure(Path(tmp), args.repeats, tuple(args.rows))
    print("\n".join(rows(result)))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
