"""Fail before any data is read: missing keys and `_target_` arguments of the wrong name or type."""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any

from hydra.utils import get_object
from omegaconf import DictConfig, ListConfig, OmegaConf

from dlforge.errors import UserError

_SIMPLE = (bool, int, float, str)


def check(cfg: DictConfig, sections: list[str]) -> None:
    """Check that `sections` of `cfg` are complete and that their `_target_` nodes accept them."""
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
        _check_targets(node, section)


def _check_targets(node: Any, key: str) -> None:
    if isinstance(node, ListConfig):
        for i, item in enumerate(node):
            _check_targets(item, f"{key}[{i}]")
        return
    if not isinstance(node, DictConfig):
        return
    if "_target_" in node:
        _check_call(node, key)
    for k, v in node.items_ex(resolve=False):
        if k != "_target_":
            _check_targets(v, f"{key}.{k}")


def _check_call(node: DictConfig, key: str) -> None:
    try:
        target = get_object(node._target_)
    except Exception as e:
        raise UserError(f"config key '{key}._target_': cannot import '{node._target_}'") from e
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return
    try:
        hints = typing.get_type_hints(target.__init__ if inspect.isclass(target) else target)
    except Exception:
        hints = {}
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
