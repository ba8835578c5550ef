"""Preprocessing fitted on the training split, stored as JSON, applied again when serving.

Pure numpy/pandas: the served model and the prepare stage share this code, so a raw request is
transformed exactly as the training rows were.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

import numpy as np

from dlforge import class_names
from dlforge.errors import UserError

_LAST = threading.local()  # per thread: id(preprocessor) -> its last transform's counts (requests run in threads)


class Preprocessor:
    """Fitted on train rows at prepare time, stored as JSON, applied again to every served request.

    Subclasses give `transform` (raw inputs → model-ready array), `state` (their constructor
    arguments, JSON-able) and `model_args` (shape arguments for the network and the module).
    Targets are model-ready as they are unless a subclass scales them.
    """

    fit_report: dict[str, Any] = {}  # what fitting decided, for prepare's report (not stored)

    def transform(self, raw: Any) -> np.ndarray:
        raise NotImplementedError

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        """What this thread's last transform imputed and mapped: {"imputed": {column: rows}, "unseen": {column: rows}}."""
        return _LAST.__dict__.get(id(self), {})

    def set_counts(self, counts: dict[str, dict[str, int]]) -> None:
        _LAST.__dict__[id(self)] = counts

    def state(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def model_args(self) -> dict[str, dict[str, Any]]:
        """{"net": keyword arguments for the network, "module": for the LightningModule}."""
        raise NotImplementedError

    def transform_target(self, t: np.ndarray) -> np.ndarray:
        return t

    def inverse_target(self, y: np.ndarray) -> np.ndarray:
        return y

    def to_state(self) -> dict[str, Any]:
        return {"class": class_names.stable(f"{type(self).__module__}.{type(self).__qualname__}"), **self.state()}


class _Classes:
    """Mixin for preprocessors of classification data: the label list gives the output size."""

    classes: list[Any]

    def transform_target(self, t: np.ndarray) -> np.ndarray:
        return np.asarray(t, dtype=np.int64)


UNKNOWN_POLICIES = ("other", "refuse")  # a category never seen in train: encode it as <other>, or refuse the row
MISSING_POLICIES = ("impute", "refuse")  # a gap in a feature column: impute it (counted), or refuse the row
OLD_UNKNOWN = {"ignore": "other", "error": "refuse"}  # the names before <other> (old configs, stored models)


def check_policy(key: str, value: str) -> str:
    """A data.missing / data.unknown_categories value (the old unknown-category names read as today's)."""
    allowed = UNKNOWN_POLICIES if key == "unknown_categories" else MISSING_POLICIES
    value = OLD_UNKNOWN.get(value, value) if key == "unknown_categories" else value
    if value not in allowed:
        raise UserError(f"config key 'data.{key}': expected one of {list(allowed)}, got {value!r}")
    return value


def check_min_rows(value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise UserError(f"config key 'data.min_category_rows': expected an integer >= 1, got {value!r}")
    return value


def from_state(state: dict[str, Any]) -> Preprocessor:
    """Rebuild a fitted preprocessor from its JSON state (`class` names it, the rest are its arguments)."""
    state = dict(state)
    module, _, name = class_names.resolve(state.pop("class")).rpartition(".")
    return getattr(importlib.import_module(module), name)(**state)
