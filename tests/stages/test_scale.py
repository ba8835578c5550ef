"""Bounded memory: prepared files written in chunks, batches streamed from them above train.memory_budget_mb."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import tiny_overrides
from dlforge.data import prepared as prepared_data
from dlforge.data import spec
from dlforge.data.batches import MappedRows, TensorBatches
from dlforge.data.families import image_classification
from dlforge.errors import UserError
from pipelines import prepare, train


@pytest.fixture
def tiny(make_cfg, tiny_csv):
    return lambda *extra: make_cfg(*tiny_overrides(tiny_csv), "logger=none", "curves=none", *extra)


def test_chunked_prepare_writes_the_same_files(tiny, tmp_path, monkeypatch):
    prepare.run(tiny())
    whole = prepared_data.load(tmp_path / "data" / "tiny")
    monkeypatch.setattr(spec, "CHUNK_ROWS", 7)  # 280 train rows in 40 chunks
    monkeypatch.setattr(prepared_data, "CHUNK_ROWS", 16)  # read back in chunks of 16 rows...
    monkeypatch.setattr(prepared_data, "TAKE_ROWS", 2)  # ...each through maps of 2 rows
    prepare.run(tiny("name=chunked"))
    chunked = prepared_data.load(tmp_path / "data" / "chunked")
    for split in prepared_data.SPLITS:
        for a, b in zip(whole.arrays(split), chunked.arrays(split, mmap=True)):
            assert a.dtype == b.dtype and np.array_equal(a, b)
        assert np.array_equal(whole.targets(split), chunked.targets(split))
        x, rows = whole.arrays(split)[0], np.array([5, 0, 3, 3, len(whole.targets(split)) - 1])
        assert np.array_equal(chunked.take(split, "x", rows), x[rows])
        assert np.array_equal(np.concatenate(list(chunked.chunks(split, "x"))), x)
        pd.testing.assert_frame_equal(whole.raw(split), chunked.raw(split))
        batches = list(chunked.raw_batches(split, rows=16))
        assert len(batches) == -(-len(chunked.targets(split)) // 16)
        pd.testing.assert_frame_equal(pd.concat(batches, ignore_index=True), whole.raw(split))


def test_images_prepared_in_chunks_match_the_whole(make_cfg, tmp_path, monkeypatch):
    """Digits (1,797 8x8 images): pixel statistics combined over chunks of 100 images equal the one-pass ones."""
    prepare.run(make_cfg("experiment=digits", "name=whole"))
    monkeypatch.setattr(image_classification, "CHUNK_ROWS", 100)
    prepare.run(make_cfg("experiment=digits", "name=chunked"))
    whole, chunked = (prepared_data.load(tmp_path / "data" / n) for n in ("whole", "chunked"))
    for key in ("mean", "std"):
        assert chunked.preprocess[key] == pytest.approx(whole.preprocess[key], rel=1e-6)
    for split in prepared_data.SPLITS:
        (xa, ya), (xb, yb) = whole.arrays(split), chunked.arrays(split, mmap=True)
        assert xb.dtype == np.float32 and np.allclose(xa, xb, atol=1e-5) and np.array_equal(ya, yb)
        assert np.array_equal(whole.raw(split), np.concatenate(list(chunked.raw_batches(split, rows=64))))


def test_streamed_batches_and_metrics_equal_in_memory_ones(tiny, tmp_path):
    prepare.run(tiny())
    _, held = train.build_data(tiny("train.memory_budget_mb=2048"))
    _, streamed = train.build_data(tiny("train.memory_budget_mb=0.001"))  # 0.001 MB: tiny data is over it
    held, streamed = {"train": held.train}, {"train": streamed.train}
    assert isinstance(held["train"][0], torch.Tensor) and isinstance(streamed["train"][0], MappedRows)
    for world_size in (1, 2):
        for rank in range(world_size):
            a = TensorBatches(*held["train"], 32, True, 42, rank, world_size)
            b = TensorBatches(*streamed["train"], 32, True, 42, rank, world_size)
            for _ in range(2):  # two epochs: the permutation advances the same way
                pairs = list(zip(a, b, strict=True))
                assert pairs and all(torch.equal(xa, xb) and torch.equal(ya, yb) for (xa, ya), (xb, yb) in pairs)
    in_memory = train.run(tiny("trainer.max_epochs=2"))
    from_disk = train.run(tiny("trainer.max_epochs=2", "train.memory_budget_mb=0.001"))
    assert in_memory == from_disk


def test_memory_budget_must_be_positive(tiny, tmp_path):
    prepare.run(tiny())
    with pytest.raises(UserError, match="train.memory_budget_mb"):
        train.build_data(tiny("train.memory_budget_mb=0"))
