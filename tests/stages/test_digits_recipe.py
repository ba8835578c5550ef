"""The digits recipe: an ensemble of CNNs in one network, trained by real Lightning, exported and served as one model."""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import numpy as np
import torch
from hydra.utils import instantiate
from torch import nn

from dlforge.data import prepared as prepared_data
from dlforge.io import write_json
from dlforge.models.export import load_net
from dlforge.models.nets.cnn import CNN
from dlforge.serving.pyfunc import DlforgeModel
from pipelines import prepare, train


def member(net: CNN, i: int, in_shape: list[int], num_classes: int, channels: list[int], convs: int) -> CNN:
    """Member `i` of an ensemble CNN, cut out of its grouped weights as a CNN of its own."""
    single = CNN(in_shape, num_classes, channels, convs=convs)
    learnable = (nn.Conv2d, nn.BatchNorm2d, nn.Linear)
    pairs = zip(
        [m for m in single if isinstance(m, learnable)], [m for m in net if isinstance(m, learnable)], strict=True
    )
    for one, grouped in pairs:
        state = {}
        for key, value in one.state_dict().items():
            whole = grouped.state_dict()[key]
            if value.dim() == 0:  # BatchNorm's num_batches_tracked
                state[key] = whole
            else:
                n = len(value)
                state[key] = whole[i * n : (i + 1) * n].reshape(value.shape)
        one.load_state_dict(state)
    return single.eval()


def test_digits_ensemble_is_what_is_exported_and_served(make_cfg, tmp_path: Path):
    cfg = make_cfg(
        "experiment=digits",
        "logger=none",
        "curves=none",
        "callbacks.progress_bar=null",
        "print_config=false",
        "trainer.max_epochs=2",
    )
    k = cfg.model.net.members
    assert k > 1  # the recipe under test: several CNNs in one network
    prepare.run(cfg)
    train.run(cfg)

    net = load_net(Path(cfg.paths.models) / "model.pt")  # what register publishes and serving loads
    assert isinstance(net, CNN) and net.members == k
    data = prepared_data.load(cfg.paths.prepared)
    x = torch.from_numpy(data.arrays("val")[0][:64])
    with torch.no_grad():
        logits = net(x)
    shape, classes, channels = list(x.shape[1:]), logits.shape[1], list(cfg.model.net.channels)
    members = [member(net, i, shape, classes, channels, cfg.model.net.convs) for i in range(k)]
    with torch.no_grad():
        outs = torch.stack([m(x) for m in members])
    assert torch.allclose(logits, outs.mean(0), atol=1e-5)  # the ensemble answers with its members' mean
    assert not torch.allclose(outs[0], outs[1], atol=1e-2)  # independently initialised members, still distinct

    # The served model (the pyfunc register logs) answers raw test images with those members' mean.
    task = instantiate(cfg.task)
    write_json(tmp_path / "task.json", {"_target_": f"{task.serving.__module__}.{task.serving.__qualname__}"})
    artifacts = {
        "net": str(Path(cfg.paths.models) / "model.pt"),
        "preprocess": str(data.path / "preprocess.json"),
        "task": str(tmp_path / "task.json"),
    }
    served = DlforgeModel()
    served.load_context(mlflow.pyfunc.PythonModelContext(artifacts=artifacts, model_config={}))
    raw = task.serving_input(data)[:16]
    probs = task.serving.pred_from_output(served.predict(None, raw), served.pre)
    with torch.no_grad():
        expected = torch.stack([m(torch.from_numpy(data.arrays("test")[0][:16])) for m in members]).mean(0).softmax(-1)
    np.testing.assert_allclose(probs, expected.numpy(), atol=1e-5)
