"""Resumable training: checkpoints in a persistent folder keyed by what is trained, written atomically.

    <paths.checkpoints>/<key>/last.ckpt   Lightning's, saved with each new best (or each epoch, with no monitor)
    <paths.checkpoints>/<key>/best.ckpt   the best epoch so far (the config's ModelCheckpoint)
                                          (both written at most every train.checkpoint_every_s: AtomicCheckpointIO)
    <paths.checkpoints>/<key>/run.json    the MLflow run this training logs into
    <paths.checkpoints>/<key>/curves.jsonl every curve point logged so far (dlforge.tracking.journal)

`key` hashes the resolved training config (seed, model, trainer, callbacks, train, sweep, tracking
tags) and the prepared data's content hash: a changed config or changed data gets a fresh folder and
never resumes from a stale checkpoint. Every checkpoint is written to a temp file and renamed into
place, so a kill while writing leaves the previous checkpoint intact (and a `.tmp` that the next
start removes); writes happen on a clock, so a kill costs at most the last few seconds of training. The checkpoint also carries the global RNG states (torch, NumPy, Python), which
Lightning does not save, so a resumed CPU run draws the same dropout masks as an uninterrupted one
and ends with the same weights. The train stage removes the folder once its outputs are written.
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

from dlforge import faults
from dlforge.errors import UserError
from dlforge.io import read_json, tree_hash, write_json

# Config sections that change what training produces (paths and tracking URI do not).
KEYED = ("seed", "model", "trainer", "callbacks", "train", "sweep")


@dataclass
class Folder:
    path: Path
    key: str

    @property
    def last(self) -> Path | None:
        """The last complete checkpoint, or None on a fresh start."""
        last = self.path / "last.ckpt"
        return last if last.is_file() else None

    @property
    def journal(self) -> Path:
        return self.path / "curves.jsonl"

    def run_id(self) -> str | None:
        ref = self.path / "run.json"
        return read_json(ref)["run_id"] if ref.is_file() else None

    def save_run_id(self, run_id: str | None) -> None:
        write_json(self.path / "run.json", {"run_id": run_id})

    def clean(self) -> None:
        """Remove the folder, then its parents (the use case's, the checkpoints root) once empty."""
        shutil.rmtree(self.path, ignore_errors=True)
        for parent in self.path.parents[:2]:
            try:
                parent.rmdir()
            except OSError:  # not empty: other jobs' checkpoints
                break


def key(cfg: DictConfig, prepared: str | Path) -> str:
    """Content key of a training job: resolved config sections that shape training + the data hash."""
    sections = {
        k: OmegaConf.to_container(cfg[k], resolve=True) if OmegaConf.is_config(cfg[k]) else cfg[k] for k in KEYED
    }
    sections["tracking_tags"] = OmegaConf.to_container(cfg.tracking.tags, resolve=True)
    h = hashlib.sha256(json.dumps(sections, sort_keys=True, default=str).encode())
    h.update(tree_hash(prepared).encode())
    return h.hexdigest()[:16]


def folder(cfg: DictConfig) -> Folder:
    """The job's checkpoint folder (created), without leftovers of a write that was killed."""
    k = key(cfg, cfg.paths.prepared)
    path = Path(cfg.paths.checkpoints) / k
    path.mkdir(parents=True, exist_ok=True)
    for tmp in path.glob("*.tmp"):
        tmp.unlink()
    return Folder(path, k)


def checkpointing(callbacks: list[pl.Callback], where: Folder) -> list[pl.Callback]:
    """Point every ModelCheckpoint at the folder and make it keep last.ckpt; add one if there is none."""
    checkpoints = [c for c in callbacks if isinstance(c, ModelCheckpoint)]
    if not checkpoints:  # `callbacks: none`: keep the latest epoch (what the final weights are)
        checkpoints = [ModelCheckpoint(filename="latest")]
        callbacks = [*callbacks, *checkpoints]
    for c in checkpoints:
        c.dirpath, c.save_last = str(where.path), True
    return [*callbacks, RngState(), WriteDue(), *([FaultPoints()] if faults.armed() else [])]


def epochs_done(ckpt: Path) -> int:
    """Complete epochs recorded in a checkpoint (Lightning stores the index of the epoch it ended)."""
    blob = torch.load(ckpt, map_location="cpu", weights_only=True, mmap=True)
    return int(blob["epoch"]) + 1


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, but through a temp file and a rename (a kill never truncates one),
    and on a clock: at most one write of the pending checkpoints every `every_s` seconds.

    On a clock. Lightning saves best.ckpt (and last.ckpt) at every epoch whose monitored metric improves,
    which in a short fit is nearly every epoch: timed in the train stage (2026-12-06, perf_counter around
    ModelCheckpoint's epoch-end hook, 8 epochs), 3-5 ms an improving epoch for credit_default, 7-9 for
    digits and 5-9 for movielens, 4-7 % of their epochs; `torch.save` pickles every tensor of the model
    and the optimiser (3.0 ms for digits' 64). So a save keeps a copy of the checkpoint in memory (its
    tensors cloned: training goes on changing them) and the files are written when `every_s` seconds
    have passed since the last write (the first save is written at once, and the saves of a step
    already written follow it: last.ckpt after best.ckpt), at the end of an epoch that
    finds a write due (`WriteDue`), and when the fit ends or fails (Lightning's teardown, before the
    stage reads the best checkpoint). `every_s: 0` writes each save as it comes. What a kill can cost:
    the epochs since the last write, at most ~`every_s` seconds of training, which the re-run trains
    again to the same weights (as it already did for the epochs after the last improving one).

    Linked. Lightning writes last.ckpt right after the best checkpoint, at the same step, whenever the
    monitored metric improves (and only then). The two files hold the same training state; they differ
    only in ModelCheckpoint's record of where last.ckpt lives, which a resumed fit sets again before its
    next save. So last.ckpt becomes a hard link to the file just written (a new name for the same bytes,
    put in place by the same rename) instead of a second `torch.save`.
    """

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
            faults.point("checkpoint_write")  # tests: kill between writing a newer last.ckpt and the rename
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
    same type, with their attributes: a state_dict's `_metadata`), immutable values shared, anything else
    deep-copied. Walks each object once (lightning_utilities' apply_to_collection took ~2 ms a checkpoint)."""
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
        py_state = py_state.tolist() if isinstance(py_state, torch.Tensor) else py_state  # a list before 2026-12-06
        random.setstate((version, tuple(py_state), gauss_next))


class FaultPoints(pl.Callback):
    """The kill tests' points inside training (dlforge.faults), in the second epoch (after a last.ckpt)."""

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if trainer.current_epoch == 1 and batch_idx == 0:  # after the epoch's first step (of train.batches_per_step)
            faults.point("mid_epoch")

    def on_validation_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
        if trainer.current_epoch == 1:
            faults.point("validation")
