"""Evaluate: the trained network and classical baselines on the same test requests, side by side.

The network answers the same raw requests its served model will get (the task's serving input),
through the stored preprocessing. Writes reports/<use_case>/metrics.json ({"model": …, "<baseline>":
…}; each baseline's wall time to fit and tune, `fit_seconds`, beside its scores), the task's plots (PNG, plots/) and the rows behind them (JSON, curves/: DVC's interactive plots,
declared in dvc.yaml; dlforge.tasks.plot_data), explanations of a few test predictions (explain/:
Captum attributions or embedding neighbours, dlforge.tasks.explain), and logs them to the training run in MLflow: the
metrics test_* and <baseline>_test_* in one batch, each tied to the test split's dataset
(`<use case>-test`, dlforge.tracking.datasets), artifacts under plots/, curves/ and explain/.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from dlforge import keys as K
from dlforge import kill_points
from dlforge.config.validate import check
from dlforge.data import prepared as prepared_data
from dlforge.data import report as data_report
from dlforge.io import atomic_dir, write_json
from dlforge.tasks import plot_data
from dlforge.tasks.tuned import FIT_SECONDS
from dlforge.threads import limit as limit_threads
from pipelines._entry import hydra_entry


def run(cfg: DictConfig) -> dict[str, dict[str, float]]:
    check(cfg, ["task", "paths", "tracking", "train"])
    data = prepared_data.load(cfg.paths.prepared)
    models, reports = Path(cfg.paths.models), Path(cfg.paths.reports)

    from dlforge.models.export import load_net
    from dlforge.tasks.base import build as build_task
    from dlforge.tasks.base import join
    from dlforge.tracking import runs

    limit_threads(cfg.train.threads)
    ref = runs.read_run_ref(models / "run.json")
    task = build_task(cfg.task)  # with its baselines: fitted and scored below
    net = load_net(models / "model.pt")
    pre = data.preprocessor()  # the network answers the test requests batch by batch (bounded memory)
    preds = {"model": join([task.serving.predict(net, pre, r) for r in task.serving_batches(data)])}
    baseline_rows = task.baseline_train_rows(data)
    if baseline_rows is not None:
        print(f"baselines fitted on a seeded sample of {baseline_rows} of {data.meta['sizes']['train']} train rows")
    preds.update(task.baselines(data))
    truth = task.reference(data)
    metrics = {name: task.metrics(p, truth) for name, p in preds.items()}
    for name, seconds in task.timer.seconds.items():  # beside each baseline's scores (dlforge.tasks.tuned)
        metrics[name][FIT_SECONDS] = seconds

    with atomic_dir(reports / "plots") as plots:
        task.plots(preds, data, plots)
        kill_points.point("evaluate")  # tests: a kill here leaves a half-written plots folder behind
    with atomic_dir(reports / "curves") as curves:
        task.plot_data(preds, data, curves)
        scores = {
            n: {k: v for k, v in m.items() if k != FIT_SECONDS} for n, m in metrics.items()
        }  # DVC: same fields in every row
        plot_data.write_rows(curves / plot_data.METHODS, plot_data.methods_rows(scores))
    with atomic_dir(reports / "explain") as explained:
        task.explain(net, data, explained)
    write_json(reports / "metrics.json", metrics)

    if ref.get("run_id"):
        client = runs.client(cfg.tracking.uri)
        client.log_batch(ref["run_id"], metrics=test_metrics(client, ref["run_id"], cfg.name, metrics))
        client.log_batch(ref["run_id"], metrics=prepare_metrics(data.meta))
        if baseline_rows is not None:
            client.set_tag(ref["run_id"], K.BASELINE_TRAIN_ROWS, str(baseline_rows))
        client.log_artifacts(ref["run_id"], str(reports / "plots"), "plots")
        client.log_artifacts(ref["run_id"], str(reports / "curves"), "curves")
        client.log_artifacts(ref["run_id"], str(reports / "explain"), "explain")
        client.log_artifact(ref["run_id"], str(reports / "metrics.json"))
    width = max(map(len, metrics["model"]))
    print(
        f"evaluated {cfg.name} on {len(truth)} test rows:\n  {'metric':<{width}}  "
        + "  ".join(f"{n:<14}" for n in metrics)
    )
    for k in metrics["model"]:
        print(f"  {k:<{width}}  " + "  ".join(f"{m[k]:<14.4f}" for m in metrics.values()))
    return metrics


def test_metrics(client, run_id: str, name: str, metrics: dict[str, dict[str, float]]) -> list:
    """Every method's metrics as MLflow metrics (test_*, <baseline>_test_*) on the test split's dataset."""
    import time

    from mlflow.entities import Metric

    from dlforge.tracking.datasets import DIGEST_CHARS

    digest = client.get_run(run_id).data.tags[K.DATA_HASH][:DIGEST_CHARS]
    now = int(time.time() * 1000)
    return [
        Metric(("test_" if method == "model" else f"{method}_test_") + k, v, now, 0, None, f"{name}-test", digest)
        for method, values in metrics.items()
        for k, v in values.items()
    ]


def prepare_metrics(meta: dict) -> list:
    """Prepare's report (gaps imputed, categories unseen in train, rare levels) as metrics prepare_* of the run."""
    import time

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    return [Metric(k, v, now, 0) for k, v in data_report.metrics(meta.get("report", {})).items()]


main = hydra_entry(run)

if __name__ == "__main__":
    main()
