"""Fail before any data is read: missing keys, `_target_` arguments of the wrong name or type, values out of range.

Beyond names and types, `check` refuses what would fail (or silently do nothing useful) later:
a negative or non-finite learning rate, a batch larger than the prepared training rows, more devices
than the machine has, and a tracking server that does not answer or refuses the credentials
(probed once, within seconds, before any training starts).

A stage that fits no baseline (register) passes `baselines=False`: the nested configs a target names
in its `baseline_args` (dlforge.tasks.base.Task) are then neither imported nor checked, so that stage
never imports scikit-learn for a baseline it does not build.
"""

from __future__ import annotations

import base64
import inspect
import json
import math
import os
import types
import typing
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from hydra.utils import get_object
from omegaconf import DictConfig, ListConfig, OmegaConf

from dlforge.errors import UserError

_SIMPLE = (bool, int, float, str)


def check(cfg: DictConfig, sections: list[str], baselines: bool = True) -> None:
    """Check that `sections` of `cfg` are complete and that their `_target_` nodes accept them
    (with `baselines=False`, all but the arguments a target lists in its `baseline_args`)."""
    for section in sections:
        node = OmegaConf.select(cfg, section, throw_on_missing=False)
        missing = sorted(OmegaConf.missing_keys(cfg[section])) if isinstance(node, DictConfig) else []
        if node is None or OmegaConf.is_missing(cfg, section) or missing:
            key = missing[0] if missing else section  # missing_keys gives full keys
            raise UserError(
                f"config key '{key}' is required but has no value (set it in the experiment or on the command line)"
            )
        try:
            OmegaConf.to_container(node, resolve=True) if isinstance(node, (DictConfig, ListConfig)) else None
        except Exception as e:  # interpolation errors name their key
            raise UserError(f"config section '{section}': {_one_line(e)}") from e
        _check_targets(node, section, baselines)
        extra = _SECTION_CHECKS.get(section)
        if extra is not None:
            extra(cfg)


def _check_model(cfg: DictConfig) -> None:
    for key in ("lr", "weight_decay"):
        full = f"model.optimizer.{key}"
        value = OmegaConf.select(cfg, full, default=None)
        if value is not None and (not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0):
            raise UserError(f"config key '{full}': expected a finite number >= 0, got {value!r}")


def _check_train(cfg: DictConfig) -> None:
    for key in ("batch_size", "eval_batch_size"):
        value = cfg.train[key]
        if value < 1:
            raise UserError(f"config key 'train.{key}': expected a positive integer, got {value}")
    meta = Path(str(cfg.paths.prepared)) / "meta.json"
    if meta.exists():
        rows = json.loads(meta.read_text()).get("sizes", {}).get("train")
        if rows is not None and cfg.train.batch_size > rows:
            raise UserError(
                f"config key 'train.batch_size': {cfg.train.batch_size} is larger than the {rows} training rows "
                f"prepared in {cfg.paths.prepared}; expected at most {rows}"
            )


def _check_trainer(cfg: DictConfig) -> None:
    devices = cfg.trainer.get("devices", 1)
    accelerator = str(cfg.trainer.get("accelerator", "cpu"))
    if not isinstance(devices, int) or isinstance(devices, bool):
        return  # "auto", a list of ids: Lightning checks those
    if devices < 1:
        raise UserError(f"config key 'trainer.devices': expected a positive integer, got {devices}")
    if accelerator in ("gpu", "cuda"):
        import torch

        have, what = torch.cuda.device_count(), "CUDA GPUs"
    elif accelerator == "cpu":
        have, what = os.cpu_count() or 1, "CPU cores"
    else:
        return
    if devices > have:
        raise UserError(
            f"config key 'trainer.devices': {devices} {accelerator} devices requested; this machine has {have} {what}"
        )


def _check_tracking(cfg: DictConfig) -> None:
    """An http(s) tracking server must answer and accept the credentials before anything runs."""
    uri = str(cfg.tracking.uri)
    if not uri.startswith(("http://", "https://")):
        return
    request = urllib.request.Request(f"{uri.rstrip('/')}/api/2.0/mlflow/experiments/search?max_results=1")
    user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if user is not None and password is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
    elif os.environ.get("MLFLOW_TRACKING_TOKEN"):
        request.add_header("Authorization", f"Bearer {os.environ['MLFLOW_TRACKING_TOKEN']}")
    try:
        with urllib.request.urlopen(request, timeout=PROBE_SECONDS):
            return
    except urllib.error.HTTPError as e:
        if e.code == 401:
            who = (
                f"user '{user}'"
                if user
                else "no credentials (set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)"
            )
            raise UserError(
                f"config key 'tracking.uri': the MLflow server at {uri} refused {who}: wrong or missing credentials"
            ) from None
        if e.code == 403:
            return  # authenticated; each request is then checked against the user's permissions
        raise UserError(f"config key 'tracking.uri': the MLflow server at {uri} answered HTTP {e.code}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise UserError(
            f"config key 'tracking.uri': no MLflow server answers at {uri} ({reason}); start it or fix the URI"
        ) from None


PROBE_SECONDS = 10  # the tracking server's first answer
_SECTION_CHECKS = {"model": _check_model, "train": _check_train, "trainer": _check_trainer, "tracking": _check_tracking}


def _check_targets(node: Any, key: str, baselines: bool = True) -> None:
    if isinstance(node, ListConfig):
        for i, item in enumerate(node):
            _check_targets(item, f"{key}[{i}]", baselines)
        return
    if not isinstance(node, DictConfig):
        return
    unbuilt: tuple[str, ...] = ()
    if "_target_" in node:
        target = _check_call(node, key)
        unbuilt = () if baselines else tuple(getattr(target, "baseline_args", ()))
    for k, v in node.items_ex(resolve=False):
        if k != "_target_" and k not in unbuilt:
            _check_targets(v, f"{key}.{k}", baselines)


def _check_call(node: DictConfig, key: str) -> Any:
    """Check the arguments `node` gives its `_target_`; return the target (imported)."""
    try:
        target = get_object(node._target_)
    except Exception as e:
        raise UserError(f"config key '{key}._target_': cannot import '{node._target_}'") from e
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return target
    try:
        hints = typing.get_type_hints(target.__init__ if inspect.isclass(target) else target)
    except Exception:
        hints = {}
    for p in params.values():  # a declared __signature__ (a wrapper class) carries its own types
        if p.name not in hints and p.annotation is not p.empty and not isinstance(p.annotation, str):
            hints[p.name] = p.annotation
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
    for name, value in node.items_ex(resolve=True):
        if str(name).startswith("_"):
            continue
        if name not in params:
            if takes_kwargs:
                continue
            raise UserError(
                f"config key '{key}.{name}': {node._target_} has no argument '{name}' (it takes: {', '.join(p for p in params if p != 'self')})"
            )
        expected = hints.get(name)
        if expected is not None and not _matches(value, expected):
            raise UserError(
                f"config key '{key}.{name}': expected {_type_name(expected)}, got {type(value).__name__} {value!r}"
            )
    return target


def _matches(value: Any, expected: Any) -> bool:
    """True unless `value` clearly contradicts a simple annotation (unknown annotations pass)."""
    origin = typing.get_origin(expected)
    if expected is Any or isinstance(value, (DictConfig,)) and expected not in _SIMPLE:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a) for a in typing.get_args(expected))
    if expected is type(None):
        return value is None
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected in (bool, str):
        return isinstance(value, expected)
    if origin in (list, tuple, typing.Sequence) or expected in (list, tuple):
        if not isinstance(value, (list, tuple, ListConfig)):
            return False
        args = typing.get_args(expected)
        return not args or args[-1] is Ellipsis or all(_matches(v, args[0]) for v in value)
    return True


def _type_name(t: Any) -> str:
    if typing.get_origin(t) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(t))
    if t is type(None):
        return "None"
    return str(t).replace("typing.", "") if typing.get_args(t) else getattr(t, "__name__", str(t))


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())
