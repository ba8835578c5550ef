"""TabM (dlforge.models.nets.tabm): the ensemble contract the Lightning modules train on (the mean of the k
members' losses, the reduced prediction for validation and serving), piecewise-linear bins from the
train split that survive export, and a real fit → export → registry → serve run."""

from __future__ import annotations

import functools

import mlflow
import numpy as np
import pandas as pd
import pytest
import pytorch_lightning as pl
import torch
from torch import nn

from conftest import ROOT
from dlforge.data.batches import InMemoryDataModule
from dlforge.models.classifier import Classifier
from dlforge.models.export import load_net, save_net
from dlforge.models.nets.tabm import TabMNet
from dlforge.models.regressor import Regressor
from pipelines import evaluate, prepare, register, train

PLE = {"d_embedding": 4, "embedding": "piecewise_linear", "n_bins": 6}


def _table(n: int = 120) -> tuple[torch.Tensor, torch.Tensor]:
    """Two numbers and a 0/1 column; the label is 1 where the first number is large."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, generator=g)
    x[:, 2] = (x[:, 2] > 0).float()
    return x, (x[:, 0] > 0.8).long()


def test_classifier_trains_on_the_mean_of_the_members_losses_and_validates_on_the_reduced_prediction():
    torch.manual_seed(0)
    x, y = _table(16)
    module = Classifier(TabMNet([3], 2, k=4, d_block=8, dropout=0.0), torch.optim.AdamW, num_classes=2)
    members = module.net.heads(x)
    assert members.shape == (16, 4, 2)
    per_member = torch.stack([nn.functional.cross_entropy(members[:, i], y) for i in range(4)]).mean()
    mixture = nn.functional.cross_entropy(module(x), y)  # the loss of the averaged probability
    assert not torch.isclose(per_member, mixture)  # the two recipes differ here, so the check can fail
    assert torch.isclose(module._step((x, y), "train"), per_member)
    assert torch.isclose(module._step((x, y), "val"), mixture)
    mean_prob = members.softmax(-1).mean(1)
    assert torch.allclose(module(x).softmax(-1), mean_prob, atol=1e-6)  # what serving's softmax returns


def test_regressor_trains_on_the_mean_of_the_members_squared_errors():
    torch.manual_seed(0)
    x, y = torch.randn(16, 3), torch.randn(16)
    module = Regressor(TabMNet([3], 1, k=4, d_block=8, dropout=0.0), torch.optim.AdamW)
    members = module.net.heads(x).squeeze(-1)  # (batch, k)
    per_member = ((members - y[:, None]) ** 2).mean()
    assert torch.isclose(module._step((x, y), "train"), per_member)
    assert torch.allclose(module(x), members.mean(1), atol=1e-6)
    assert torch.isclose(module._step((x, y), "val"), nn.functional.mse_loss(members.mean(1), y))


def test_piecewise_linear_bins_come_from_train_and_survive_export(tmp_path):
    torch.manual_seed(0)
    x, y = _table()
    config = {"_target_": "dlforge.models.nets.tabm.TabMNet", "in_shape": [3], "num_classes": 2, "k": 3, **PLE}
    net = TabMNet([3], 2, k=3, **PLE)
    placeholder = net.bin_edges.clone()
    net.init_from_train(x, y)
    assert torch.allclose(net.bin_edges[0, [0, -1]], torch.stack([x[:, 0].min(), x[:, 0].max()]))
    assert net.bin_edges[2, :2].tolist() == [0.0, 1.0] and net.bin_edges[2, 2:].isnan().all()  # one bin: 0/1
    assert not torch.equal(net.bin_edges.nan_to_num(), placeholder)
    share = (torch.bincount(y, minlength=2) + 1) / (len(y) + 2)  # add-one smoothed class shares
    assert torch.allclose(net.tabm.output.bias, share.log().float().expand(3, 2))
    save_net(tmp_path / "model.pt", config, net)
    loaded = load_net(tmp_path / "model.pt")  # built with placeholder bins, then rebuilt for the saved ones
    net.eval()
    assert torch.equal(loaded.bin_edges.isnan(), net.bin_edges.isnan())
    assert torch.equal(loaded(x), net(x))


def test_lightning_fit_lowers_the_members_loss():
    x, y = _table(256)
    pl.seed_everything(0, verbose=False)
    optimizer = functools.partial(torch.optim.AdamW, lr=0.01)
    module = Classifier(TabMNet([3], 2, k=4, d_block=16, **PLE), optimizer, num_classes=2)
    data = InMemoryDataModule((x, y), (x[:64], y[:64]), 32, 64, 0, 4)
    trainer = pl.Trainer(
        max_epochs=6, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False
    )
    trainer.fit(module, datamodule=data)
    p = y.float().mean()
    prior = -(p * p.log() + (1 - p) * (1 - p).log())  # the loss of predicting the class shares (the start)
    assert trainer.callback_metrics["train_loss"] < prior / 2
    assert trainer.callback_metrics["val_auroc"] > 0.95


@pytest.mark.slow  # four real stages on the example table (about 10 s)
def test_tabm_with_piecewise_linear_embeddings_is_registered_and_served(make_cfg, mlflow_db):
    cfg = make_cfg(
        "experiment=byo_tabular",
        "model=tabm",
        "model.net.k=4",
        "model.net.d_block=16",
        "model.net.d_embedding=4",
        "model.net.embedding=piecewise_linear",
        "model.net.n_bins=8",
        "trainer.max_epochs=6",
        "callbacks.progress_bar=null",
        "train.batch_size=32",
    )
    prepare.run(cfg)
    train.run(cfg)
    metrics = evaluate.run(cfg)
    assert metrics["model"]["accuracy"] > 0.8
    assert register.run(cfg)["champion_version"] == 1
    mlflow.set_tracking_uri(cfg.tracking.uri)
    served = mlflow.pyfunc.load_model(f"models:/{cfg.name}@champion").predict(
        pd.read_csv(ROOT / "examples" / "byo" / "tabular.csv").drop(columns="species").head(5)
    )
    probs = served[[c for c in served.columns if c.startswith("proba_")]].to_numpy()
    assert probs.shape == (5, 3) and np.allclose(probs.sum(1), 1.0, atol=1e-5)
