"""DDP that never re-runs Hydra: the stage launches its own workers on a resolved config file.

Lightning's own DDP launcher re-executes `sys.argv` in every child. Under Hydra that re-composes the
config, and inside a multirun it re-launches the whole sweep. Instead, when a stage needs several
processes on this node and is not already one of them, `launch` writes the composed config (fully
resolved) to a temp file and starts `torch.distributed.run` on `python -m <worker module>` (pipelines.train_worker); each
worker reads that file, so every rank trains on exactly the job's config. Global rank 0 returns the
metrics to the launching process through a JSON file. Under an external launcher (torchrun, srun)
the processes already exist, and the stage trains directly.

No torch or Lightning import at module level: the launching process stays light.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from dlforge.errors import UserError
from dlforge.io import read_json, write_json

CONFIG_ENV = "DLFORGE_DDP_CONFIG"  # set for workers: the resolved config they train on
RESULT_ENV = "DLFORGE_DDP_RESULT"  # set for workers: where global rank 0 writes the returned metrics
_SELF_LAUNCHED = ("ddp", "auto")  # strategies whose multi-process launch we take over


def processes_per_node(trainer: DictConfig) -> int:
    devices = trainer.get("devices", 1)
    if isinstance(devices, int) and devices > 0:
        return devices
    if OmegaConf.is_list(devices):
        return len(devices)
    if str(devices).isdigit():
        return int(devices)
    if trainer.get("accelerator") in ("gpu", "cuda"):
        import torch

        return max(torch.cuda.device_count(), 1)
    return 1


def world_size(trainer: DictConfig) -> int:
    return processes_per_node(trainer) * int(trainer.get("num_nodes", 1))


def externally_launched() -> bool:
    """True inside a process started by torchrun, srun (SLURM) or one of our own launches."""
    slurm = int(os.environ.get("SLURM_NTASKS", "1")) > 1 and os.environ.get("SLURM_JOB_NAME") not in (
        "bash",
        "interactive",
    )
    return "LOCAL_RANK" in os.environ or "TORCHELASTIC_RUN_ID" in os.environ or slurm


def needs_launch(trainer: DictConfig, batch_size: int) -> bool:
    """Whether this stage must start its DDP workers itself; checks the global batch divides."""
    world = world_size(trainer)
    if batch_size % world:
        raise UserError(
            f"config key 'train.batch_size': the global batch {batch_size} does not divide over {world} processes"
        )
    if world == 1 or externally_launched():
        return False
    if int(trainer.get("num_nodes", 1)) > 1:
        raise UserError(
            f"config key 'trainer.num_nodes': {trainer.num_nodes} nodes need an external launcher (torchrun or srun, see README 'Scaling out')"
        )
    return str(trainer.get("strategy", "auto")) in _SELF_LAUNCHED


def launch(cfg: DictConfig, module: str) -> dict[str, Any]:
    """Run `python -m <module>` as one DDP worker per device via torchrun; return rank 0's metrics."""
    nproc = processes_per_node(cfg.trainer)
    with tempfile.TemporaryDirectory(prefix="dlforge-ddp-") as tmp:
        config, result = Path(tmp) / "config.yaml", Path(tmp) / "result.json"
        OmegaConf.save(cfg, config, resolve=True)
        env = {**os.environ, CONFIG_ENV: str(config), RESULT_ENV: str(result)}
        env.setdefault("OMP_NUM_THREADS", str(max((os.cpu_count() or 1) // nproc, 1)))
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", "-m", module]
        code = subprocess.run(cmd, env=env).returncode
        if code != 0:
            raise RuntimeError(f"DDP training failed: {nproc} workers exited with code {code}")
        return read_json(result)


def worker(fit: Callable[[DictConfig], dict[str, Any]]) -> None:
    """Entry of one launched worker: train on the resolved config, rank 0 reports the metrics."""
    cfg = OmegaConf.load(os.environ[CONFIG_ENV])
    try:
        metrics = fit(cfg)
    except UserError as e:
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        sys.exit(2)
    if int(os.environ.get("RANK", "0")) == 0:
        write_json(os.environ[RESULT_ENV], metrics)
