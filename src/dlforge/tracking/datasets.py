"""The prepared splits as MLflow dataset inputs of the training run (the run page's "Datasets").

One dataset per split, named `<use case>-<split>`, logged with the context `train`, `val` or `test`
(input tag `mlflow.data.context`). Its digest is the prepared-data hash that lineage tags the run with
(`dlforge.data_hash`, dlforge.io.tree_hash of the whole prepared folder), cut to the 36 characters
MLflow's store keeps, so the same prepared data is the same dataset in every run and every store.
The schema and profile MLflow shows come from the model-ready arrays (x, y) of the split.
"""

from __future__ import annotations

import warnings

from mlflow.entities import Dataset, DatasetInput, InputTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

from dlforge import keys as K
from dlforge.data.prepared import SPLITS, Prepared

DIGEST_CHARS = 36  # MLflow's datasets.digest column is VARCHAR(36)


def inputs(data: Prepared, name: str, data_hash: str) -> list[DatasetInput]:
    """One DatasetInput per split of `data`, digest = the prepared-data hash."""
    import mlflow.data

    found = []
    for split in SPLITS:
        x, y = data.arrays(split, mmap=True)  # only shapes and dtypes are read
        with warnings.catch_warnings():  # a local path matches two equivalent local source kinds
            warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted")
            dataset = mlflow.data.from_numpy(
                x,
                targets=y,
                source=str(data.file(split, "x").resolve()),
                name=f"{name}-{split}",
                digest=data_hash[:DIGEST_CHARS],
            )
        found.append(DatasetInput(Dataset(**dataset.to_dict()), tags=[InputTag(MLFLOW_DATASET_CONTEXT, split)]))
    return found


def log(client: MlflowClient, run_id: str, data: Prepared, name: str) -> None:
    """Log the splits of `data` as the run's dataset inputs; the digest is the run's `dlforge.data_hash` tag."""
    data_hash = client.get_run(run_id).data.tags[K.DATA_HASH]
    log_inputs(client, run_id, inputs(data, name, data_hash))


# How a store reports a dataset row that another run inserted first: SQLite, PostgreSQL, MySQL
_TAKEN = ("datasets.experiment_id, datasets.name, datasets.digest", '"dataset_pk"', "for key 'datasets.")


def log_inputs(client: MlflowClient, run_id: str, found: list[DatasetInput]) -> None:
    """`client.log_inputs`, once more when another run inserted the same dataset in the meantime.

    MLflow's store looks the experiment's datasets up and then inserts those it did not find, in one
    transaction; two runs of one experiment logging the same new dataset at once (the first trials of a
    parallel sweep) both insert it, and the second fails on the table's key (a trial failed this way in
    tests/e2e/test_sweeps.py). Its transaction is rolled back whole, and the same call then finds the row the
    other run committed and only links it to this run: the same result as without the race."""
    try:
        client.log_inputs(run_id, datasets=found)
    except MlflowException as e:
        if not any(mark in str(e) for mark in _TAKEN):
            raise
        client.log_inputs(run_id, datasets=found)
