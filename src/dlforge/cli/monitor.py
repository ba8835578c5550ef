"""`dlforge monitor <use case> <batch>`: does the champion still fit this batch? ok, drift or degraded.

The recipe: thresholds (conf/monitor/, overrides on the command line) → the champion and its training
reference (dlforge.monitor.reference) → the batch read as `dlforge predict` reads it → input summaries
and drift against the training split → the batch and the test split scored through the champion's
pyfunc → prediction drift → the gate metric on the batch when it has labels → verdict → report,
MLflow run, one line. Exit code 0 ok, 3 drift, 4 degraded (dlforge.monitor.verdict); 2 bad input.

A batch the champion refuses (a missing value, an unseen category it is configured to refuse) is
judged on its inputs alone when those show drift, and says so; otherwise the refusal is bad input.
Imports SciPy, MLflow and torch inside `run` only: the other commands never load them.
"""

from __future__ import annotations

import argparse
import hashlib
import warnings
from pathlib import Path
from typing import Any

from dlforge.errors import UserError


def add_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "monitor",
        help="judge a new batch against the champion's training data: ok (0), drift (3) or degraded (4)",
    )
    p.add_argument("use_case", help="registered model name (its champion is judged)")
    p.add_argument("input", help="the batch, as `dlforge predict` takes it: .csv/.parquet, .npy, a folder of .wav")
    p.add_argument("overrides", nargs="*", help="threshold overrides, e.g. monitor.psi.drift=0.2 (conf/monitor/)")
    p.add_argument("--labels", help="labels for an array or WAV batch: .csv/.parquet (one column) or .npy, one per row")
    p.add_argument("--config-dir", default="conf", help="the config folder holding monitor/ (default: %(default)s)")
    p.set_defaults(func=lambda args: run(args))


def _digest(path: Path) -> str:
    if path.is_dir():
        from dlforge.io import tree_hash

        return tree_hash(path)
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _labels(args: argparse.Namespace, batch: Any, cfg: Any, rows: int, generator: bool) -> tuple[Any, str] | None:
    """The batch's labels (a Series) and where they came from: --labels, else the table's target column
    (a generator's `label` column is the class it is asked for, not an outcome: it has no labels)."""
    import pandas as pd

    from dlforge.cli.predict import read_input

    column = cfg.data.get("target") or cfg.data.get("rating")
    if args.labels and generator:
        raise UserError(
            f"--labels '{args.labels}': a generator's batch has no labels to score (its gate compares images)"
        )
    if args.labels:
        got = read_input(Path(args.labels))
        if isinstance(got, pd.DataFrame):
            if got.shape[1] != 1 and column not in got.columns:
                raise UserError(f"--labels '{args.labels}': expected one column or a column '{column}'")
            got = got[column] if column in got.columns else got.iloc[:, 0]
        series = pd.Series(list(got) if not isinstance(got, pd.Series) else got).reset_index(drop=True)
        if len(series) != rows:
            raise UserError(f"--labels '{args.labels}': {len(series)} labels for a batch of {rows} rows")
        return series, f"--labels '{args.labels}'"
    if isinstance(batch, pd.DataFrame) and column and column in batch.columns and not generator:
        return batch[column].reset_index(drop=True), f"column '{column}'"
    return None


def run(args: argparse.Namespace) -> int:
    import mlflow
    import numpy as np
    from mlflow.exceptions import MlflowException

    from dlforge import keys as K
    from dlforge.cli.predict import predict_batch, read_input
    from dlforge.io import atomic_dir
    from dlforge.monitor import drift, labels, reference, report, settings, summaries, tracking, verdict
    from dlforge.tasks.base import build as build_task
    from dlforge.tasks.base import join
    from dlforge.tasks.directions import higher_is_better

    thresholds = settings.load(args.config_dir, args.overrides)
    src = Path(args.input)
    batch = read_input(src)
    name = src.name if src.is_dir() else src.stem
    mlflow.set_tracking_uri(args.tracking_uri)
    client = mlflow.MlflowClient(args.tracking_uri)
    champion = reference.find(client, args.use_case)
    data, pre = champion.data, champion.data.preprocessor()
    task = build_task(champion.cfg.task, baselines=False)

    # Inputs: the batch's summary columns against the training split's
    raw = [samples for _, samples, _ in batch] if isinstance(batch, list) else batch
    if isinstance(batch, list):
        for file, _, rate in batch:
            try:
                pre.check_rate(rate)
            except UserError as e:
                raise UserError(f"input '{file}': {e}") from None
    train_table, kinds = summaries.inputs(summaries.train_inputs(data, pre), pre)
    batch_table, _ = summaries.inputs(raw, pre)
    inputs = drift.compare(train_table, batch_table, kinds, thresholds)
    rows = len(batch) if not isinstance(batch, list) else len(raw)
    found = _labels(args, batch, champion.cfg, rows, summaries.family(pre) == "requests")

    # Predictions: the batch and the champion's test split, both through its served pyfunc
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*Add type hints to the `predict` method", category=UserWarning)
        model = mlflow.pyfunc.load_model(champion.uri)
    test_pred = join([task.serving.pred_from_output(model.predict(r), pre) for r in task.serving_batches(data)])
    refused = None
    try:
        out = predict_batch(model, batch)
        batch_pred = task.serving.pred_from_output(out, pre)
    except (MlflowException, UserError) as e:  # a refused request (RequestError), or a WAV clip's refusal
        if isinstance(e, MlflowException) and e.error_code != "INVALID_PARAMETER_VALUE":
            raise
        reason = " ".join(str(e).split("Error: ")[-1].split())[:300]
        if not any(v["drift"] for v in inputs.values()):
            raise UserError(f"input '{src}': {reason}") from e
        refused, batch_pred = f"the champion refused the batch ({reason})", None
    predictions = {}
    if batch_pred is not None:
        ref_pred, pred_kinds = summaries.predictions(test_pred, pre)
        predictions = drift.compare(ref_pred, summaries.predictions(batch_pred, pre)[0], pred_kinds, thresholds)

    # Labels: the gate metric on the batch against the champion's test figure
    judged, note = None, "The batch has no labels."
    if found is not None and batch_pred is not None:
        metric = champion.tags.get(K.GATE + "metric")
        if metric is None or f"test_{metric}" not in champion.tags:
            raise UserError(f"{champion.name} v{champion.version}: no gate metric and test figure among its tags")
        truth = labels.truth(found[0], pre, found[1], batch)
        strata = truth if getattr(pre, "classes", None) else None
        judged = labels.judge(
            task,
            metric,
            np.asarray(batch_pred),
            truth,
            float(champion.tags[f"test_{metric}"]),
            higher_is_better(metric),
            thresholds.labels,
            strata,
        )
    elif found is not None:
        note = f"Labels ({found[1]}) not scored: {refused}."

    result, why = verdict.decide(inputs, predictions, judged)
    summary = {
        "model": champion.name,
        "version": champion.version,
        "batch": name,
        "input": str(src),
        "rows": rows,
        "reference": str(data.path),
        "reference_rows": len(train_table),
        "test_rows": len(test_pred),
        "verdict": result,
        "why": why,
        "refused": refused,
        "labels": judged,
        "labels_note": note,
        "thresholds": {
            "psi_moderate": thresholds.psi.moderate,
            "psi_drift": thresholds.psi.drift,
            "p_value": thresholds.p_value,
            "missing_share": thresholds.missing_share,
            "unseen_share": thresholds.unseen_share,
        },
    }
    folder = Path(champion.cfg.paths.reports) / "monitor" / name
    with atomic_dir(folder) as tmp:
        report.write(tmp, summary, inputs, predictions)
    figures = tracking.metrics(inputs, predictions, judged)
    run_id = tracking.log(
        client,
        champion,
        name,
        src,
        batch_table if isinstance(batch, list) else batch,
        _digest(src),
        figures,
        result,
        folder,
    )
    print(f"{champion.name} v{champion.version} on {name}: {result} ({why}) → {folder}, MLflow run {run_id}")
    return verdict.EXIT_CODES[result]
