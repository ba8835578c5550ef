"""dlforge.models.fast_log: a logged result already on the value's device is left as it is, anything else
goes through Lightning's own `to`; and Lightning still calls it on every `self.log`, so the shortcut is live.
(tests/test_epoch_metrics.py checks that a fit's curves are the same with it.)"""

from __future__ import annotations

import copy

import pytest
import torch
import torchmetrics
from pytorch_lightning.trainer.connectors.logger_connector.result import _ResultCollection, _ResultMetric

from dlforge.models import fast_log

CPU, META = torch.device("cpu"), torch.device("meta")


@pytest.fixture
def counted(monkeypatch):
    """fast_log installed for this test only; counts its calls and those that fell through to Lightning's."""
    calls = {"to": 0, "lightning": 0}
    original = fast_log.LIGHTNING_TO

    def lightning(self, *args, **kwargs):
        calls["lightning"] += 1
        return original(self, *args, **kwargs)

    def to(self, *args, **kwargs):
        calls["to"] += 1
        return fast_log.result_to(self, *args, **kwargs)

    monkeypatch.setattr(fast_log, "LIGHTNING_TO", lightning)
    monkeypatch.setattr(_ResultMetric, "to", to)
    return calls


def _logged(results: _ResultCollection, name: str, value) -> _ResultMetric:
    results.log("on_train_epoch_end", name, value, on_step=False, on_epoch=True)
    return results[f"on_train_epoch_end.{name}"]


def test_lightning_moves_each_logged_result_and_the_shortcut_takes_the_repeats(counted):
    results = _ResultCollection(training=True)
    for epoch in range(3):
        _logged(results, "loss", torch.tensor(0.5 + epoch))
    assert counted["to"] == 3  # if Lightning stopped calling `to` per log, fast_log would be dead code
    assert counted["lightning"] == 0  # the results are created on the CPU: nothing ever had to move
    assert float(results["on_train_epoch_end.loss"].compute()) == pytest.approx(1.5)  # the mean of the three


def test_same_state_as_lightnings_to_on_the_same_device():
    results = _ResultCollection(training=True)
    result = _logged(results, "loss", torch.tensor(2.0))
    theirs = fast_log.LIGHTNING_TO(copy.deepcopy(result), CPU)
    ours = fast_log.result_to(result, CPU)
    assert ours is result
    for name in ("value", "cumulated_batch_size"):
        assert torch.equal(getattr(ours, name), getattr(theirs, name))
        assert getattr(ours, name).device == getattr(theirs, name).device == CPU


def test_anything_elsewhere_goes_through_lightnings_to(counted):
    result = _logged(_ResultCollection(training=True), "loss", torch.tensor(2.0))
    result.to(META)  # another device: moved by Lightning
    assert counted["lightning"] == 1 and result.value.device == META and result.cumulated_batch_size.device == META
    result.to(META)  # now all there: the shortcut
    assert counted["lightning"] == 1
    other = _logged(_ResultCollection(training=True), "loss", torch.tensor(2.0))
    other.to(device=CPU)  # not the one-device form Lightning's log uses: Lightning's
    assert counted["lightning"] == 2


def test_a_logged_metric_object_counts_its_states():
    metric = torchmetrics.MeanMetric()
    metric.update(torch.tensor([1.0, 3.0]))
    result = _logged(_ResultCollection(training=True), "mean", metric)
    assert fast_log.on_device(result.__dict__, CPU)
    assert not fast_log.on_device(result.__dict__, META)
    metric.mean_value = metric.mean_value.to(META)  # one state elsewhere
    assert not fast_log.on_device(result.__dict__, CPU)


def test_on_device_walks_what_apply_to_collection_walks():
    nested = {"a": [1, (torch.zeros(1), "x")], "b": {"c": torch.zeros(2)}}
    assert fast_log.on_device(nested, CPU)
    nested["b"]["c"] = torch.zeros(2, device=META)
    assert not fast_log.on_device(nested, CPU)
