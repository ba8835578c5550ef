"""Same machine, same seed: training twice gives bit-identical weights and metrics, for every family.

Each family trains twice at tiny size (logger=none) from the same prepared data; the exported
weights and every final metric must be equal, not close. Across machines or thread counts this is
not promised (docs/reliability.md); the run records the CPU and thread count.
"""

from __future__ import annotations

import pytest
import torch

from conftest import ROOT, tiny_overrides, write_tiny_csv
from pipelines import prepare, train

BYO = ROOT / "examples/byo"
QUIET = ["callbacks.progress_bar=null", "logger=none", "train.threads=1"]
FAMILIES = {
    "tabular": lambda tmp: tiny_overrides(write_tiny_csv(tmp / "tiny.csv")) + ["trainer.max_epochs=2"],
    "image": lambda tmp: [
        "experiment=byo_images",
        f"data.source.path={BYO / 'images'}",
        "train.batch_size=16",
        "trainer.max_epochs=2",
    ],
    "forecasting": lambda tmp: [
        "experiment=byo_timeseries",
        f"data.source.path={BYO / 'timeseries.csv'}",
        "trainer.max_epochs=2",
    ],
    "text": lambda tmp: [
        "experiment=byo_text",
        "data=text_csv_sequence",  # the GRU's sequence data (byo_text's default is the n-gram bag)
        "model=text_rnn",
        "data.max_len=48",
        "model.net.hidden=16",
        "model.net.embed_dim=32",
        "trainer.max_epochs=2",
    ],
    "gan": lambda tmp: ["experiment=digits_gan", "trainer.max_epochs=1", "data.judge_max_iter=30"],
    "recommender": lambda tmp: [
        "experiment=movielens",
        "data.max_users=40",
        "train.batch_size=256",
        "trainer.max_epochs=2",
    ],
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_same_seed_same_weights_and_metrics(family, make_cfg, tmp_path):
    base = [*FAMILIES[family](tmp_path), *QUIET]
    prepare.run(make_cfg(*base))
    runs = []
    for i in range(2):
        cfg = make_cfg(*base, f"paths.models={tmp_path}/models/run{i}")
        metrics = train.run(cfg)
        blob = torch.load(tmp_path / f"models/run{i}/model.pt", weights_only=True)["state_dict"]
        runs.append((metrics, blob))
    (m1, w1), (m2, w2) = runs
    assert m1 == m2, f"{family}: metrics differ between two runs with the same seed"
    assert w1.keys() == w2.keys() and all(torch.equal(w1[k], w2[k]) for k in w1), f"{family}: weights differ"
