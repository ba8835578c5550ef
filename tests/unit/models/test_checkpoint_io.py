"""dlforge.models.checkpoints.AtomicCheckpointIO: whole files only, last.ckpt shares the best checkpoint's bytes
when Lightning writes both at the same step, and saves are written on a clock (train.checkpoint_every_s)."""

from __future__ import annotations

import os

import pytest
import torch

from dlforge.errors import UserError
from dlforge.models.checkpoints import AtomicCheckpointIO


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


def test_saves_within_the_interval_wait_in_memory_and_the_fit_end_writes_them(tmp_path):
    io = AtomicCheckpointIO(every_s=3600)
    best, last = tmp_path / "best.ckpt", tmp_path / "last.ckpt"
    io.save_checkpoint(state(0, 5, 1.0), best)  # the first save is written at once
    io.save_checkpoint(state(0, 5, 1.0), last)  # and the rest of its step with it
    assert os.path.samefile(best, last) and not io.pending
    later = state(1, 10, 2.0)
    io.save_checkpoint(later, best)  # within the interval: kept in memory
    io.save_checkpoint(later, last)
    assert list(io.pending) == [best, last]
    later["state_dict"]["w"].fill_(9.0)  # training goes on changing the tensors: the pending copy does not change
    io.write_due()  # not due yet
    assert torch.equal(io.load_checkpoint(best)["state_dict"]["w"], torch.full((3,), 1.0))
    io.teardown()  # the fit ends: everything saved is written, last.ckpt linked to the best one of its step
    assert not io.pending and os.path.samefile(best, last)
    assert torch.equal(io.load_checkpoint(last)["state_dict"]["w"], torch.full((3,), 2.0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.ckpt", "last.ckpt"]


def test_a_due_write_happens_at_the_next_save_or_epoch_end(tmp_path, monkeypatch):
    import dlforge.models.checkpoints as checkpoints

    clock = [100.0]
    monkeypatch.setattr(checkpoints.time, "monotonic", lambda: clock[0])
    io = AtomicCheckpointIO(every_s=10)
    io.save_checkpoint(state(0, 5, 1.0), tmp_path / "best.ckpt")  # written at once; the next write is due at 110
    io.save_checkpoint(state(1, 10, 2.0), tmp_path / "best.ckpt")
    clock[0] = 109.9
    io.write_due()
    assert io.pending
    clock[0] = 110.0
    io.write_due()  # what WriteDue does at an epoch's end
    assert not io.pending and io.load_checkpoint(tmp_path / "best.ckpt")["epoch"] == 1


def test_removing_a_checkpoint_that_waits_drops_it(tmp_path):
    io = AtomicCheckpointIO(every_s=3600)
    io.save_checkpoint(state(0, 5, 1.0), tmp_path / "epoch0.ckpt")
    io.save_checkpoint(state(1, 10, 2.0), tmp_path / "epoch1.ckpt")
    io.remove_checkpoint(tmp_path / "epoch0.ckpt")  # on disk: removed
    io.remove_checkpoint(tmp_path / "epoch1.ckpt")  # waiting: never written
    io.teardown()
    assert list(tmp_path.iterdir()) == []


def test_a_negative_interval_names_the_config_key():
    with pytest.raises(UserError, match=r"train\.checkpoint_every_s"):
        AtomicCheckpointIO(every_s=-1)


def test_a_waiting_checkpoint_is_a_copy_that_keeps_a_state_dicts_metadata(tmp_path):
    import numpy as np
    from torch import nn

    from dlforge.models.checkpoints import _snapshot

    net = nn.BatchNorm1d(3)
    state_dict = net.state_dict()
    extra = np.zeros(2)
    copied = _snapshot({"state_dict": state_dict, "loops": [{"n": 1}, ("a", 2)], "extra": extra})
    assert copied["state_dict"]._metadata == state_dict._metadata  # load_state_dict reads module versions from it
    net.running_mean.fill_(5.0)
    extra[0] = 7.0
    assert torch.equal(copied["state_dict"]["running_mean"], torch.zeros(3)) and copied["extra"][0] == 0.0
    assert copied["loops"] == [{"n": 1}, ("a", 2)]


def test_the_rng_state_round_trips():
    import random

    from dlforge.models.checkpoints import RngState

    random.seed(3)
    saved = RngState().state_dict()
    expected = [random.random() for _ in range(3)]
    RngState().load_state_dict(saved)
    assert [random.random() for _ in range(3)] == expected
