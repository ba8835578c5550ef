"""An Optuna study that any number of processes fill at once: its storage, search space and trial counts.

Storage: an SQLAlchemy URL (PostgreSQL for several machines; SQLite for one) opens an RDBStorage with
Optuna's heartbeat: every running trial records a heartbeat each `heartbeat_s`; one silent for
`grace_s` (its worker was killed) is marked FAIL by the next process that looks
(`optuna.storages.fail_stale_trials`), and RetryHeartbeatStaleTrialCallback (Optuna 5's name for
RetryFailedTrialCallback) queues it again, same parameters, up to `retries` times. `journal:<path>`
opens Optuna's JournalStorage on a file (a shared filesystem works; SQLite on one does not): Optuna 5
keeps no heartbeats there, so a killed worker's trial stays RUNNING and is not retried.
"""

from __future__ import annotations

import time
from typing import Any

JOURNAL = "journal:"  # storage URL prefix for Optuna's journal file storage: journal:/shared/study.log
SCHEMA_ATTEMPTS = 4  # tries to open an RDB storage while another process creates its tables
PARENT_ATTR = "mlflow_parent_run_id"  # study user attribute: the MLflow run that holds every trial as a child


def storage(url: str, heartbeat_s: int | None = None, grace_s: int | None = None, retries: int = 0) -> Any:
    """The Optuna storage `url` names; with `heartbeat_s`, an RDB storage fails and retries dead trials."""
    import optuna

    if url.startswith(JOURNAL):
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(url.removeprefix(JOURNAL)))
    if heartbeat_s is None:
        return url
    from sqlalchemy.exc import IntegrityError

    for attempt in range(SCHEMA_ATTEMPTS):
        try:
            return optuna.storages.RDBStorage(
                url,
                heartbeat_interval=heartbeat_s,
                grace_period=grace_s,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=retries),
            )
        except IntegrityError:  # workers started together on an empty database: another one is creating Optuna's
            if attempt == SCHEMA_ATTEMPTS - 1:  # tables (PostgreSQL: "duplicate key … pg_type"); once they exist,
                raise  # RDBStorage finds them and creates nothing
            time.sleep(1 + attempt)


def has_heartbeat(opened: Any) -> bool:
    """Whether running trials in `opened` (from `storage`) prove they are alive: an RDB storage with a heartbeat."""
    import optuna

    return isinstance(opened, optuna.storages.RDBStorage) and opened.get_heartbeat_interval() is not None


def encode(value: Any) -> Any:
    """Optuna choices must be scalars: a list choice travels as its override text, e.g. '[64,32]'."""
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(str(encode(v)) for v in value) + "]"
    return value


def suggest(trial: Any, params: dict[str, dict]) -> list[str]:
    """One `key=value` override per search-space entry, drawn by the trial's sampler."""
    from dlforge.errors import UserError

    chosen = []
    for key, spec in params.items():
        kind = spec.get("type", "float")
        if kind == "categorical":
            value = trial.suggest_categorical(key, [encode(c) for c in spec["choices"]])
        elif kind == "int":
            value = trial.suggest_int(
                key, spec["low"], spec["high"], step=spec.get("step", 1), log=spec.get("log", False)
            )
        elif kind == "float":
            value = trial.suggest_float(key, float(spec["low"]), float(spec["high"]), log=spec.get("log", False))
        else:
            raise UserError(f"hydra.sweeper.params.{key}: unknown type '{kind}' (float, int or categorical)")
        chosen.append(f"{key}={value}")
    return chosen


def counts(study: Any) -> dict[str, int]:
    """Trials per state name (COMPLETE, PRUNED, RUNNING, WAITING, FAIL), plus `finished` = COMPLETE + PRUNED."""
    found: dict[str, int] = {s: 0 for s in ("COMPLETE", "PRUNED", "RUNNING", "WAITING", "FAIL")}
    for t in study.get_trials(deepcopy=False):
        found[t.state.name] += 1
    found["finished"] = found["COMPLETE"] + found["PRUNED"]
    return found


def taken_before(study: Any, number: int) -> int:
    """Trials numbered below `number` that are finished, running or queued: the slots already taken."""
    return sum(
        t.number < number and t.state.name in ("COMPLETE", "PRUNED", "RUNNING", "WAITING")
        for t in study.get_trials(deepcopy=False)
    )
