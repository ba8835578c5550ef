"""`self.log` without Lightning's per-call move of a result that is already on the value's device.

Each `self.log(name, value)` in Lightning 2.6 ends in `_ResultCollection.log`, which calls
`_ResultMetric.to(value.device)` on the stored result, every time. That `to` rebuilds the result's whole
`__dict__` through lightning_utilities' `apply_to_collection` (the torchmetrics and nn.Module internals of
the result, ~70 objects) and deep-copies its metadata dataclass, even when every tensor in it is already
on that device, as it is from the second call on. Profiled in the train stage (2026-12-06, cProfile of
`Trainer.fit`, credit_default, 40 epochs): 85 % of `self.log`'s time; in place, a `self.log` of an epoch
value took 0.5-0.8 ms, ~2.4 ms of credit_default's ~70 ms epoch for its six curves.

`install()` (the train stage calls it before building the Trainer) puts a check in front: when `to` is
asked for one device and no tensor or metric inside the result is elsewhere (the same walk
`apply_to_collection` makes, without rebuilding anything), the result is returned as it is; any other call
goes to Lightning's own `to`. The result is the same object Lightning would have produced, with the same
tensors on the same device (tests/test_fast_log.py; tests/test_epoch_metrics.py: a fit's curves are the same).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import torch
from pytorch_lightning.trainer.connectors.logger_connector import result as _result
from torchmetrics import Metric

LIGHTNING_TO = _result._ResultMetric.to
_LEAVES = frozenset({bool, int, float, str, bytes, type(None), torch.device, torch.dtype})


def on_device(obj: Any, device: torch.device) -> bool:
    """True when no tensor or metric that `apply_to_collection` would reach in `obj` is on another device
    (it descends into mappings, lists, tuples, dataclasses and, through `to`, metrics)."""
    kind = type(obj)
    if kind in _LEAVES:
        return True
    if isinstance(obj, torch.Tensor):
        return obj.device == device
    if kind is dict or isinstance(obj, Mapping):
        return all(on_device(v, device) for v in obj.values())
    if kind is list or isinstance(obj, (list, tuple)):
        return all(on_device(v, device) for v in obj)
    if isinstance(obj, Metric):
        return obj.device == device and on_device(vars(obj), device)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return all(on_device(v, device) for v in vars(obj).values())
    return True


def result_to(self: _result._ResultMetric, *args: Any, **kwargs: Any) -> _result._ResultMetric:
    """Lightning's `_ResultMetric.to`, returning at once when there is nothing to move."""
    if not kwargs and len(args) == 1 and isinstance(args[0], torch.device) and on_device(self.__dict__, args[0]):
        return self
    return LIGHTNING_TO(self, *args, **kwargs)


def install() -> None:
    """Use `result_to` for every logged result of this process (idempotent)."""
    _result._ResultMetric.to = result_to
