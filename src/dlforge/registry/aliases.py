"""Alias moves with a history: every move of `champion`/`challenger` is logged on the registered model.

MLflow keeps only where an alias points now. To say who moved it, why, and to roll back to the
previous champion, each move also writes one registered-model tag `dlforge.alias_log.<seq>` holding
a small JSON record. One tag per move keeps every value small (no tag grows without bound).
Imports only the MLflow client: the CLI's list/describe stay fast.
"""

from __future__ import annotations

import getpass
import json
import time
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from dlforge.errors import UserError

PREFIX = "dlforge.alias_log."
KINDS = ("gate", "manual", "rollback", "replace_incompatible")  # register, a person, a rollback, forced replace
_MISSING = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND")


def current(client: MlflowClient, name: str, alias: str) -> Any | None:
    """The version holding `alias`, or None when the model or the alias does not exist yet."""
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException as e:
        if e.error_code in _MISSING:
            return None
        raise


def history(client: MlflowClient, name: str) -> list[dict[str, Any]]:
    """Every recorded alias move of model `name`, oldest first."""
    tags = get_model(client, name).tags
    return [json.loads(tags[k]) for k in sorted(k for k in tags if k.startswith(PREFIX))]


def get_model(client: MlflowClient, name: str) -> Any:
    try:
        return client.get_registered_model(name)
    except MlflowException as e:
        if e.error_code in _MISSING:
            known = [m.name for m in client.search_registered_models()]
            raise UserError(
                f"model '{name}': no such registered model (known: {', '.join(sorted(known)) or 'none'})"
            ) from e
        raise


def move(client: MlflowClient, name: str, alias: str, version: int, kind: str, reason: str) -> dict[str, Any]:
    """Point `alias` at `version` and append the move to the model's alias log; return the record."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    before = current(client, name, alias)
    client.set_registered_model_alias(name, alias, str(version))
    log = history(client, name)
    record = {
        "seq": len(log) + 1,
        "alias": alias,
        "version": int(version),
        "previous": int(before.version) if before is not None else None,
        "kind": kind,
        "reason": reason[:500],
        "by": _user(),
        "at": round(time.time(), 3),
    }
    client.set_registered_model_tag(name, f"{PREFIX}{record['seq']:06d}", json.dumps(record, sort_keys=True))
    return record


def champion_stack(log: list[dict[str, Any]], alias: str = "champion") -> list[int]:
    """Replay the log: promotions push a version, rollbacks pop one; the top is the current holder."""
    stack: list[int] = []
    for r in log:
        if r["alias"] != alias:
            continue
        if r["kind"] == "rollback":
            if stack:
                stack.pop()
        elif not stack or stack[-1] != r["version"]:
            stack.append(r["version"])
    return stack


def rollback(client: MlflowClient, name: str, reason: str = "manual rollback") -> dict[str, Any]:
    """Return `champion` to the version that held it before the current champion."""
    holder = current(client, name, "champion")
    if holder is None:
        raise UserError(f"model '{name}': has no champion to roll back")
    stack = champion_stack(history(client, name))
    if len(stack) < 2 or stack[-1] != int(holder.version):
        raise UserError(
            f"model '{name}': no previous champion recorded before v{holder.version}; nothing to roll back to"
        )
    target = stack[-2]
    check_version(client, name, target)
    return move(client, name, "champion", target, "rollback", reason)


def check_version(client: MlflowClient, name: str, version: int) -> Any:
    """The model version, or a UserError naming the versions that exist."""
    try:
        return client.get_model_version(name, str(version))
    except MlflowException as e:
        if e.error_code in _MISSING:
            have = sorted(int(v.version) for v in client.search_model_versions(f"name='{name}'"))
            raise UserError(f"model '{name}': no version {version} (has: {', '.join(map(str, have)) or 'none'})") from e
        raise


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"
