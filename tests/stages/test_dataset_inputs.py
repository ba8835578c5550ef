"""Two runs of one experiment logging the same new dataset at once (a parallel sweep's first trials)."""

from __future__ import annotations

import multiprocessing

from mlflow.entities import Dataset, DatasetInput, InputTag
from mlflow.tracking import MlflowClient

from dlforge.tracking.datasets import log_inputs


def _splits() -> list[DatasetInput]:
    return [
        DatasetInput(
            Dataset(name=f"uc-{split}", digest="0123abcd", source_type="local", source="/data"),
            tags=[InputTag("mlflow.data.context", split)],
        )
        for split in ("train", "val", "test")
    ]


def _run(uri: str, run_id: str, barrier, results) -> None:
    client = MlflowClient(uri)
    barrier.wait()  # both processes call the store at the same moment: each looks the datasets up, then inserts
    try:
        log_inputs(client, run_id, _splits())
        results.put("ok")
    except Exception as e:  # reported to the test, which names it
        results.put(f"{type(e).__name__}: {e}")


def test_two_runs_logging_the_same_new_dataset_at_once_both_get_it(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(uri)
    spawn = multiprocessing.get_context("spawn")
    for attempt in range(3):  # without the second call, every attempt here lost one run to the race
        experiment = client.create_experiment(f"uc{attempt}")
        runs = [client.create_run(experiment).info.run_id for _ in range(2)]
        barrier, results = spawn.Barrier(2), spawn.Queue()
        procs = [spawn.Process(target=_run, args=(uri, r, barrier, results)) for r in runs]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=120)
        assert sorted(results.get(timeout=5) for _ in procs) == ["ok", "ok"]
        for r in runs:
            logged = client.get_run(r).inputs.dataset_inputs
            assert sorted(i.dataset.name for i in logged) == ["uc-test", "uc-train", "uc-val"]
