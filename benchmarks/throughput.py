"""Training throughput per scenario, side by side, as a markdown table.

    python benchmarks/throughput.py            # CPU: 1 process vs 2-process DDP (gloo), MLP and CNN
    python benchmarks/throughput.py --gpu      # one GPU: fp32 vs bf16-mixed vs bf16-mixed + torch.compile

Each scenario runs the real train stage (`python -m pipelines.train`, tracking off) for a fixed number
of epochs with early stopping off, and reports the median epoch time after the first (warm-up /
compilation) epoch, rows per second, and the ratio to the first scenario of the same use case.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CPU = {
    "credit_default": [("1 process", []), ("DDP 2 processes (gloo)", ["trainer=ddp_cpu"])],
    "digits": [("1 process", []), ("DDP 2 processes (gloo)", ["trainer=ddp_cpu"])],
}
GPU = {
    "credit_default": [
        ("fp32", ["trainer=gpu", "trainer.precision=32"]),
        ("bf16-mixed", ["trainer=gpu"]),
        ("bf16-mixed + compile", ["trainer=gpu", "train.compile=true"]),
    ],
    "digits": [
        ("fp32", ["trainer=gpu", "trainer.precision=32"]),
        ("bf16-mixed", ["trainer=gpu"]),
        ("bf16-mixed + compile", ["trainer=gpu", "train.compile=true"]),
    ],
}


def _stage(module: str, *overrides: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", module, *overrides], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def measure(use_case: str, overrides: list[str], epochs: int, tmp: Path) -> dict:
    out = tmp / "timer.json"
    _stage(
        "pipelines.train",
        f"experiment={use_case}",
        f"paths.prepared={tmp}/{use_case}",
        f"paths.models={tmp}/models",
        "logger=none",
        f"trainer.max_epochs={epochs}",
        "callbacks.early_stopping=null",
        "callbacks.progress_bar=null",
        "+callbacks.timer._target_=benchmarks.epoch_timer.EpochTimer",
        f"+callbacks.timer.out={out}",
        *overrides,
    )
    result = json.loads(out.read_text())
    epoch = statistics.median(result["epoch_s"][1:])
    return {**result, "epoch": epoch, "rows_per_s": result["rows"] / epoch}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpu", action="store_true", help="GPU scenarios instead of CPU ones")
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()
    scenarios = GPU if args.gpu else CPU
    print("| use case | scenario | device | s/epoch | rows/s | speed vs first |\n|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for use_case, runs in scenarios.items():
            _stage("pipelines.prepare", f"experiment={use_case}", f"paths.prepared={tmp}/{use_case}")
            first = None
            for label, overrides in runs:
                r = measure(use_case, overrides, args.epochs, Path(tmp))
                first = first or r["epoch"]
                print(
                    f"| {use_case} | {label} | {r['device']} | {r['epoch']:.3f} | {r['rows_per_s']:,.0f} | {first / r['epoch']:.2f}x |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
