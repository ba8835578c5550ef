"""Alias moves with a history: every move of `champion`/`challenger` is recorded, race-free.

MLflow keeps only where an alias points now. To say who moved it, why, and to roll back to the
previous champion, each move also writes one record: a tag `dlforge.alias_log.<seq>` (a small JSON)
on the model *version the alias moved to*. Where it lives, and why:
- not on the registered model: one tag per move there makes the model page's tag table in the
  MLflow UI grow by a JSON row for every promotion, forever; on the version it reads as that
  version's own story ("made champion on …, by …, because …");
- one tag per move, each key unique (the sequence number), so no value grows without bound and
  no write overwrites another.
Records written by older dlforge versions on the registered model are still read (`history` merges both).

Concurrency: `hold(client, name)` is a per-model mutex built on MLflow itself (works the same on
SQLite, PostgreSQL and through a tracking server): creating the registered model
`dlforge-lock.<name>` succeeds for one process only (the backend's unique name constraint); the
holder deletes it when done. Every `move` runs under it, so the next sequence number is read and
written by one process at a time (no duplicate or missing numbers), and the register stage holds it
around read-champion → gate → move so two registrations never both promote against the same
champion. A lock whose holder was a process on this host that no longer runs, or one older than
STALE_SECONDS (a holder killed elsewhere), is broken by the next taker.
The lock is re-entrant within a process and released at process exit if a holder forgot.

Imports only the MLflow client: the CLI's list/describe stay fast.
"""

from __future__ import annotations

import atexit
import getpass
import json
import os
import secrets
import socket
import time
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from dlforge import keys as K
from dlforge.errors import UserError

PREFIX = K.ALIAS_LOG
KINDS = (
    "gate",
    "manual",
    "rollback",
    "replace_incompatible",
)  # who moved it: register, a person, a rollback, a schema change
LOCK_PREFIX = "dlforge-lock."  # registered model name of a model's mutex while a move is in progress
STALE_SECONDS = 300.0  # a lock older than this belongs to a killed process: the next taker breaks it
WAIT_SECONDS = 600.0  # how long a mover waits for the lock before giving up with an error
_MISSING = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND")
_held: dict[tuple[str, str], Lock] = {}  # (tracking uri, model) -> the lock this process holds


def exists(client: MlflowClient, name: str) -> bool:
    """Whether registered model `name` exists (a search: basic-auth servers answer 403, not 404, for a missing one)."""
    return any(m.name == name for m in client.search_registered_models(filter_string=f"name = '{name}'"))


def current(client: MlflowClient, name: str, alias: str) -> Any | None:
    """The version holding `alias`, or None when the model or the alias does not exist yet."""
    if not exists(client, name):
        return None
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException as e:
        if e.error_code in _MISSING:
            return None
        raise


def history(client: MlflowClient, name: str) -> list[dict[str, Any]]:
    """Every recorded alias move of model `name`, oldest first (version tags, plus older model tags)."""
    model = get_model(client, name)
    records = {int(k[len(PREFIX) :]): v for k, v in model.tags.items() if k.startswith(PREFIX)}
    for version in _versions(client, name):
        records.update({int(k[len(PREFIX) :]): v for k, v in version.tags.items() if k.startswith(PREFIX)})
    return [json.loads(records[seq]) for seq in sorted(records)]


def _versions(client: MlflowClient, name: str) -> list[Any]:
    out, token = [], None
    while True:
        page = client.search_model_versions(f"name='{name}'", max_results=1000, page_token=token)
        out.extend(page)
        token = page.token
        if not token:
            return out


def get_model(client: MlflowClient, name: str) -> Any:
    try:
        return client.get_registered_model(name)
    except MlflowException as e:
        if e.error_code in _MISSING or not exists(client, name):
            known = [m.name for m in client.search_registered_models() if not m.name.startswith(LOCK_PREFIX)]
            raise UserError(
                f"model '{name}': no such registered model (known: {', '.join(sorted(known)) or 'none'})"
            ) from e
        raise


class Lock:
    """The per-model mutex (see the module docstring); use `hold()` and `release()`, or `with hold(...)`."""

    def __init__(self, client: MlflowClient, name: str):
        self.client, self.name, self.lock_name = client, name, f"{LOCK_PREFIX}{name}"
        self.token = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.depth = 0

    def acquire(self) -> Lock:
        deadline = time.monotonic() + WAIT_SECONDS
        delay = 0.2  # polls grow to every 3 s: each is an authenticated request to the server
        while True:
            try:
                self.client.create_registered_model(
                    self.lock_name,
                    tags={K.LOCK_HOLDER: self.token},
                    description=f"dlforge: held while an alias of '{self.name}' moves (deleted after)",
                )
                return self
            except MlflowException as e:
                if e.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
                if self._holder() == self.token:  # our create went through; the client's retry of it did not
                    return self
            self._break_if_stale()
            if time.monotonic() > deadline:
                raise UserError(
                    f"model '{self.name}': another process has held '{self.lock_name}' for over {WAIT_SECONDS:.0f}s; "
                    "if none is running, delete that registered model"
                )
            time.sleep(delay + secrets.randbelow(200) / 1000)
            delay = min(delay * 1.5, 3.0)

    def _holder(self) -> str | None:
        try:
            return self.client.get_registered_model(self.lock_name).tags.get(K.LOCK_HOLDER)
        except MlflowException:
            return None

    def _break_if_stale(self) -> None:
        try:
            lock = self.client.get_registered_model(self.lock_name)
        except MlflowException:
            return  # released meanwhile
        if _dead_holder(lock.tags.get(K.LOCK_HOLDER)) or (time.time() - lock.creation_timestamp / 1000 > STALE_SECONDS):
            self._delete()

    def _delete(self) -> None:
        try:
            self.client.delete_registered_model(self.lock_name)
        except MlflowException as e:
            if e.error_code not in _MISSING:
                raise

    def release(self) -> None:
        self.depth -= 1
        if self.depth > 0:
            return
        _held.pop((self.client.tracking_uri, self.name), None)
        self._delete()

    def __enter__(self) -> Lock:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _dead_holder(token: str | None) -> bool:
    """Whether the lock's holder was a process on this host that no longer runs (killed mid-move)."""
    host, _, rest = (token or "").partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def hold(client: MlflowClient, name: str) -> Lock:
    """Take model `name`'s mutex (re-entrant in this process); release it with `.release()` or a `with`."""
    key = (client.tracking_uri, name)
    lock = _held.get(key)
    if lock is None:
        lock = Lock(client, name).acquire()
        _held[key] = lock
    lock.depth += 1
    return lock


@atexit.register
def _release_all() -> None:
    for lock in list(_held.values()):
        lock.depth = 1
        lock.release()


def move(client: MlflowClient, name: str, alias: str, version: int, kind: str, reason: str) -> dict[str, Any]:
    """Point `alias` at `version` and record the move on that version; return the record."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    with hold(client, name):
        before = current(client, name, alias)
        log = history(client, name)
        client.set_registered_model_alias(name, alias, str(version))
        record = {
            "seq": (log[-1]["seq"] if log else 0) + 1,
            "alias": alias,
            "version": int(version),
            "previous": int(before.version) if before is not None else None,
            "kind": kind,
            "reason": reason[:500],
            "by": _user(),
            "at": round(time.time(), 3),
        }
        client.set_model_version_tag(
            name, str(version), f"{PREFIX}{record['seq']:06d}", json.dumps(record, sort_keys=True)
        )
    return record


def replay(log: list[dict[str, Any]]) -> dict[str, int]:
    """Where each alias points after the recorded moves, in order (a check that the log is whole)."""
    aliases: dict[str, int] = {}
    for r in log:
        aliases[r["alias"]] = r["version"]
    return aliases


def champion_stack(log: list[dict[str, Any]], alias: str = K.CHAMPION) -> list[int]:
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
    with hold(client, name):
        holder = current(client, name, K.CHAMPION)
        if holder is None:
            raise UserError(f"model '{name}': has no champion to roll back")
        stack = champion_stack(history(client, name))
        if len(stack) < 2 or stack[-1] != int(holder.version):
            raise UserError(
                f"model '{name}': no previous champion recorded before v{holder.version}; nothing to roll back to"
            )
        target = stack[-2]
        check_version(client, name, target)
        return move(client, name, K.CHAMPION, target, "rollback", reason)


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
