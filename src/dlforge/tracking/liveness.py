"""Which process owns a RUNNING MLflow run, and closing the runs whose process was killed.

MLflow marks a run FINISHED or FAILED only when the process ends it; a `kill -9` leaves it RUNNING
forever. Every process that opens a run tags it with its host and pid (`owner_tags`); when a stage
starts, `close_stale` marks as KILLED each RUNNING run of the experiment whose owner is a process on
this host that no longer exists. Runs owned by another host (a shared server) are left alone: their
liveness cannot be checked from here.
"""

from __future__ import annotations

import os
import socket

from mlflow.tracking import MlflowClient

from dlforge import keys as K

HOST, PID = K.HOST, K.PID


def owner_tags() -> dict[str, str]:
    return {HOST: socket.gethostname(), PID: str(os.getpid())}


def claim(client: MlflowClient, run_id: str) -> None:
    """Mark `run_id` as this process's RUNNING run (before resuming or logging into it)."""
    for k, v in owner_tags().items():
        client.set_tag(run_id, k, v)
    client.update_run(run_id, status="RUNNING")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def close_stale(client: MlflowClient, experiment: str) -> list[str]:
    """Mark KILLED the RUNNING runs of `experiment` whose owning process on this host is gone."""
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return []
    closed = []
    for run in client.search_runs([exp.experiment_id], "attributes.status = 'RUNNING'", max_results=1000):
        tags = run.data.tags
        if tags.get(HOST) != socket.gethostname() or not tags.get(PID, "").isdigit():
            continue
        if int(tags[PID]) != os.getpid() and not _alive(int(tags[PID])):
            client.set_terminated(run.info.run_id, "KILLED")
            closed.append(run.info.run_id)
    if closed:
        print(
            f"closed {len(closed)} MLflow run(s) of '{experiment}' left RUNNING by a killed process: {', '.join(closed)}"
        )
    return closed
