"""Small pieces: the gate's arithmetic and index batching (single process and DDP shards)."""

from __future__ import annotations

import pytest
import torch

from dlforge.data.batches import TensorBatches
from dlforge.errors import UserError
from dlforge.registry.gate import decide


def test_first_version_is_promoted():
    assert decide("pr_auc", 0.3, None, True, 0.0).promoted


@pytest.mark.parametrize(
    "challenger, champion, higher, margin, promoted",
    [
        (0.8, 0.7, True, 0.0, True),
        (0.7, 0.8, True, 0.0, False),
        (0.75, 0.7, True, 0.1, False),
        (0.7, 0.7, True, 0.0, False),
        (1.0, 2.0, False, 0.0, True),
        (2.0, 1.0, False, 0.0, False),
    ],
)
def test_gate_respects_direction_and_margin(challenger, champion, higher, margin, promoted):
    assert decide("m", challenger, champion, higher, margin).promoted is promoted


def test_batches_cover_every_row_once_per_epoch_and_reshuffle():
    x, y = torch.arange(10).float()[:, None], torch.arange(10)
    b = TensorBatches(x, y, 4, shuffle=True, seed=0)
    assert len(b) == 3
    first = torch.cat([yb for _, yb in b])
    second = torch.cat([yb for _, yb in b])
    assert sorted(first.tolist()) == list(range(10)) and not torch.equal(first, second)
    assert torch.equal(first, torch.cat([yb for _, yb in TensorBatches(x, y, 4, shuffle=True, seed=0)]))


def test_ddp_shards_are_disjoint_and_keep_the_global_batch():
    x, y = torch.zeros(12, 1), torch.arange(12)
    shards = [TensorBatches(x, y, 4, shuffle=True, seed=3, rank=r, world_size=2) for r in range(2)]
    seen = [torch.cat([yb for _, yb in s]) for s in shards]
    assert shards[0].batch_size == 2 and len(shards[0]) == len(shards[1]) == 3
    assert sorted(torch.cat(seen).tolist()) == list(range(12))


def test_global_batch_must_divide_over_devices():
    with pytest.raises(UserError, match="'train.batch_size': 5 does not divide over 2 devices"):
        TensorBatches(torch.zeros(4, 1), torch.zeros(4), 5, True, 0, rank=0, world_size=2)
