"""dlforge.models.resume.AtomicCheckpointIO: whole files only, and last.ckpt shares the best checkpoint's bytes
when Lightning writes both at the same step."""

from __future__ import annotations

import os

import torch

from dlforge.models.resume import AtomicCheckpointIO


def state(epoch: int, step: int, value: float) -> dict:
    return {"epoch": epoch, "global_step": step, "state_dict": {"w": torch.full((3,), value)}}


def test_last_checkpoint_at_the_best_ones_step_is_the_same_file_and_a_later_one_is_written(tmp_path):
    io = AtomicCheckpointIO()
    best, last = tmp_path / "best.ckpt", tmp_path / "last.ckpt"
    io.save_checkpoint(state(0, 5, 1.0), best)
    io.save_checkpoint(state(0, 5, 1.0), last)
    assert os.path.samefile(best, last)  # one write, two names
    io.save_checkpoint(state(1, 10, 2.0), last)  # an epoch with no new best: its own file
    assert not os.path.samefile(best, last)
    io.save_checkpoint(state(2, 15, 3.0), best)  # the next best replaces best.ckpt; last.ckpt keeps its bytes
    assert torch.equal(io.load_checkpoint(last)["state_dict"]["w"], torch.full((3,), 2.0))
    io.save_checkpoint(state(2, 15, 3.0), last)
    assert os.path.samefile(best, last) and io.load_checkpoint(last)["epoch"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.ckpt", "last.ckpt"]  # no .tmp left
