"""Evaluate: the trained network and classical baselines on the same test requests, side by side.

The network answers the same raw requests its served model will get (the task's serving input),
through the stored preprocessing. Writes reports/<use_case>/metrics.json ({"model": …, "<baseline>":
…}) and the task's plots (PNG), and logs both to the training run in MLflow (metrics test_* and
<baseline>_test_*, artifacts under plots/).
"""

from __future__ import annotations

from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig

from dlforge import faults
from dlforge.config.validate import check
from dlforge.data import prepared as prepared_data
from dlforge.io import atomic_dir, write_json
from dlforge.threads import limit as limit_threads
from pipelines._entry import hydra_entry


def run(cfg: DictConfig) -> dict[str, dict[str, float]]:
    check(cfg, ["task", "paths", "tracking", "train"])
    data = prepared_data.load(cfg.paths.prepared)
    models, reports = Path(cfg.paths.models), Path(cfg.paths.reports)

    from dlforge.models.checkpoint import load_net
    from dlforge.tracking import runs

    limit_threads(cfg.train.threads)
    ref = runs.read_run_ref(models / "run.json")
    task = instantiate(cfg.task)
    net = load_net(models / "model.pt")
    preds = {"model": task.predict(net, data.preprocessor(), task.serving_input(data)), **task.baselines(data)}
    truth = task.reference(data)
    metrics = {name: task.metrics(p, truth) for name, p in preds.items()}

    with atomic_dir(reports / "plots") as plots:
        task.plots(preds, data, plots)
        faults.point("evaluate")  # tests: a kill here leaves a half-written plots folder behind
    write_json(reports / "metrics.json", metrics)

    if ref.get("run_id"):
        client = runs.client(cfg.tracking.uri)
        for name, values in metrics.items():
            prefix = "test_" if name == "model" else f"{name}_test_"
            for k, v in values.items():
                client.log_metric(ref["run_id"], prefix + k, v)
        client.log_artifacts(ref["run_id"], str(reports / "plots"), "plots")
        client.log_artifact(ref["run_id"], str(reports / "metrics.json"))
    width = max(map(len, metrics["model"]))
    print(
        f"evaluated {cfg.name} on {len(truth)} test rows:\n  {'metric':<{width}}  "
        + "  ".join(f"{n:<14}" for n in metrics)
    )
    for k in metrics["model"]:
        print(f"  {k:<{width}}  " + "  ".join(f"{m[k]:<14.4f}" for m in metrics.values()))
    return metrics


main = hydra_entry(run)

if __name__ == "__main__":
    main()
