"""Resumable training: the one module that owns a fit's checkpoints.

    <paths.checkpoints>/<key>/best.ckpt, last.ckpt   Lightning's, written atomically on a clock
    <paths.checkpoints>/<key>/curves.jsonl           the fit's curve points (dlforge.tracking.curves)

`key` hashes what training produces from: the resolved training config, the prepared data and the code
the train stage imports (dlforge.code_deps), so a changed config, data or code starts afresh instead of
resuming from a checkpoint another version made. last.ckpt also carries the global RNG states (a resumed
CPU fit ends with the same weights as an uninterrupted one) and the MLflow run id (a resumed fit logs
into the same run). The train stage removes the folder once its outputs are written.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from lightning_fabric.plugins import TorchCheckpointIO
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import ModelCheckpoint

from dlforge import kill_points
from dlforge.code_deps import ROOT, stage_code
from dlforge.errors import UserError
from dlforge.io import tree_hash

# Config sections that change what training produces (paths and the tracking URI do not).
KEYED = ("seed", "model", "trainer", "callbacks", "train", "sweep")
RUN_ID = "mlflow_run_id"  # the checkpoint entry naming the MLflow run the fit logs into


@dataclass
class Folder:
    """A training job's checkpoint folder and what its last checkpoint says (nothing on a fresh start)."""

    path: Path
    last: Path | None  # last.ckpt, or None: a fresh start
    epochs_done: int  # complete epochs in last.ckpt
    run_id: str | None  # the MLflow run last.ckpt was logging into
    io: AtomicCheckpointIO  # the Trainer's checkpoint writer

    @property
    def curves(self) -> Path:
        return self.path / "curves.jsonl"

    def callbacks(self, configured: list[pl.Callback], run_id: str | None) -> list[pl.Callback]:
        """`configured` with every ModelCheckpoint writing here and keeping last.ckpt (one is added if none
        is: the final weights), plus what a checkpoint must also carry: RNG states and the MLflow run id."""
        checkpoints = [c for c in configured if isinstance(c, ModelCheckpoint)]
        if not checkpoints:
            checkpoints = [ModelCheckpoint(filename="latest")]
            configured = [*configured, *checkpoints]
        for c in checkpoints:
            c.dirpath, c.save_last = str(self.path), True
        return [*configured, RngState(), RunId(run_id), WriteDue(), *([FaultPoints()] if kill_points.armed() else [])]

    def clean(self) -> None:
        """Remove the folder, then its parents (the use case's, the checkpoints root) once empty."""
        shutil.rmtree(self.path, ignore_errors=True)
        for parent in self.path.parents[:2]:
            try:
                parent.rmdir()
            except OSError:  # not empty: other jobs' checkpoints
                break


def key(cfg: DictConfig, prepared: Path) -> str:
    """Content key of a training job: the config sections that shape training, the data and the code."""
    sections = {
        k: OmegaConf.to_container(cfg[k], resolve=True) if OmegaConf.is_config(cfg[k]) else cfg[k] for k in KEYED
    }
    sections["tracking_tags"] = OmegaConf.to_container(cfg.tracking.tags, resolve=True)
    h = hashlib.sha256(json.dumps(sections, sort_keys=True, default=str).encode())
    h.update(tree_hash(prepared).encode())
    for path in stage_code("train", cfg):
        h.update(str(path).encode() + b"\0" + (ROOT / path).read_bytes())
    return h.hexdigest()[:16]


def open_folder(cfg: DictConfig, prepared: Path) -> Folder:
    """The job's checkpoint folder (created, without the leftovers of a write that was killed)."""
    io = AtomicCheckpointIO(cfg.train.checkpoint_every_s)  # checks the setting before any run starts
    path = Path(cfg.paths.checkpoints) / key(cfg, prepared)
    path.mkdir(parents=True, exist_ok=True)
    for tmp in path.glob("*.tmp"):
        tmp.unlink()
    last = path / "last.ckpt"
    if not last.is_file():
        return Folder(path, None, 0, None, io)
    blob = torch.load(last, map_location="cpu", weights_only=True, mmap=True)
    return Folder(path, last, int(blob["epoch"]) + 1, blob.get(RUN_ID), io)  # Lightning stores the epoch it ended


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, through a temp file and a rename (a kill never leaves half a file),
    and on a clock: saves wait in memory and go to disk at most every `every_s` seconds, at an epoch's end
    that finds a write due (`WriteDue`) and when the fit ends or fails. A kill costs at most ~`every_s`
    seconds of training, which the re-run trains again to the same weights. last.ckpt of the same step as
    the best checkpoint is a hard link to it (the same training state), not a second `torch.save`."""

    def __init__(self, every_s: float = 0.0) -> None:
        super().__init__()
        if not every_s >= 0:
            raise UserError(f"config key 'train.checkpoint_every_s': {every_s}; expected seconds ≥ 0")
        self.every_s = every_s
        self.pending: dict[Path, tuple[dict[str, Any], Any]] = {}  # path -> (checkpoint, storage_options), unwritten
        self._due = 0.0  # time.monotonic() from which a save or WriteDue writes the pending checkpoints
        self._written: tuple[tuple[int, int], Path] | None = None  # ((epoch, global step), file) of the last write

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        path = Path(path)
        self.pending.pop(path, None)  # a newer state for the same file: it goes last, after what was saved before
        self.pending[path] = (_snapshot(checkpoint), storage_options)
        if self._written is not None and self._written[0] == _at(checkpoint):
            self.write_pending()  # the rest of a step just written (last.ckpt after best.ckpt): files of one state
        else:
            self.write_due()

    def write_due(self) -> None:
        """Write the pending checkpoints if `every_s` seconds have passed since the last write."""
        if self.pending and time.monotonic() >= self._due:
            self.write_pending()

    def write_pending(self) -> None:
        """Write every pending checkpoint, in the order they were saved."""
        while self.pending:
            path = next(iter(self.pending))
            self._write(path, *self.pending[path])
            del self.pending[path]
        self._due = time.monotonic() + self.every_s

    def _write(self, path: Path, checkpoint: dict[str, Any], storage_options: Any | None) -> None:
        tmp = path.with_name(path.name + ".tmp")
        at = _at(checkpoint)
        same = self._written is not None and self._written[0] == at and self._written[1].is_file()
        if path.name == "last.ckpt" and same and not storage_options:
            os.link(self._written[1], tmp)
        else:
            super().save_checkpoint(checkpoint, tmp, storage_options)
        if path.name == "last.ckpt" and path.exists():
            kill_points.point("checkpoint_write")  # tests: kill between writing a newer last.ckpt and the rename
        os.replace(tmp, path)
        self._written = (at, path)

    def remove_checkpoint(self, path: Any) -> None:
        if self.pending.pop(Path(path), None) is None or Path(path).exists():
            super().remove_checkpoint(path)

    def load_checkpoint(self, path: Any, map_location: Any | None = None, weights_only: bool | None = None) -> dict:
        return super().load_checkpoint(path, map_location=map_location, weights_only=True)

    def teardown(self) -> None:
        """The fit ended (or failed): what it saved goes to disk before the stage reads it."""
        self.write_pending()


def _snapshot(obj: Any) -> Any:
    """A copy of a checkpoint that later training cannot change: tensors cloned, containers rebuilt (of the
    same type, with their attributes), immutable values shared, anything else deep-copied."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().clone()
    if isinstance(obj, dict):
        out = copy.copy(obj)
        for k, v in obj.items():
            out[k] = _snapshot(v)
        return out
    if isinstance(obj, list):
        return [_snapshot(v) for v in obj]
    if type(obj) is tuple:
        return tuple(_snapshot(v) for v in obj)
    if obj is None or isinstance(obj, (bool, int, float, str, bytes)):
        return obj
    return copy.deepcopy(obj)


def _at(checkpoint: dict[str, Any]) -> tuple[int, int]:
    """(epoch, global step) of a checkpoint: which training state it holds."""
    return checkpoint.get("epoch"), checkpoint.get("global_step")


class WriteDue(pl.Callback):
    """At each epoch's end, writes the pending checkpoints once `train.checkpoint_every_s` has passed, so an
    epoch that saves nothing (no improvement) still puts the last saved state on disk in time."""

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        io = trainer.strategy.checkpoint_io
        if isinstance(io, AtomicCheckpointIO):
            io.write_due()


class RngState(pl.Callback):
    """Saves the global RNG states with each checkpoint and restores them on resume."""

    def state_dict(self) -> dict[str, Any]:
        kind, keys, pos, has_gauss, gauss = np.random.get_state()
        version, state, gauss_next = random.getstate()
        return {
            "torch": torch.get_rng_state(),
            "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
            # one tensor, not a list of 625 ints: every object in a checkpoint is walked when it is copied and pickled
            "python": [version, torch.tensor(state, dtype=torch.int64), gauss_next],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        torch.set_rng_state(state["torch"])
        kind, keys, pos, has_gauss, gauss = state["numpy"]
        np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
        version, py_state, gauss_next = state["python"]
        random.setstate((version, tuple(py_state.tolist()), gauss_next))


class RunId(pl.Callback):
    """Writes the MLflow run id into every checkpoint (Lightning's `on_save_checkpoint` hook)."""

    def __init__(self, run_id: str | None) -> None:
        self.run_id = run_id

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        checkpoint[RUN_ID] = self.run_id


class FaultPoints(pl.Callback):
    """The kill tests' points inside training (dlforge.kill_points), in the second epoch (after a last.ckpt)."""

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if trainer.current_epoch == 1 and batch_idx == 0:  # after the epoch's first step (of train.batches_per_step)
            kill_points.point("mid_epoch")

    def on_validation_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
        if trainer.current_epoch == 1:
            kill_points.point("validation")
