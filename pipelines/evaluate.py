"""Evaluate: the trained network and a classical baseline on the same test split, side by side.

Writes reports/<use_case>/metrics.json ({"model": …, "baseline": …}) and the task's plots, and logs
both to the training run in MLflow (metrics test_* and baseline_test_*, artifacts under plots/).
"""

from __future__ import annotations

from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig

from dlforge.config.validate import check
from dlforge.data import prepared as prepared_data
from dlforge.io import atomic_dir, write_json

from pipelines._entry import hydra_entry


def run(cfg: DictConfig) -> dict[str, dict[str, float]]:
    check(cfg, ["task", "paths", "tracking", "train"])
    data = prepared_data.load(cfg.paths.prepared)
    models, reports = Path(cfg.paths.models), Path(cfg.paths.reports)

    import torch

    from dlforge.models.checkpoint import load_net
    from dlforge.tracking import runs

    ref = runs.read_run_ref(models / "run.json")
    task = instantiate(cfg.task)
    net = load_net(models / "model.pt")
    (x_train, y_train), (x_test, y_test) = data.arrays("train"), data.arrays("test")
    with torch.inference_mode():
        probs = torch.cat([net(b).softmax(-1) for b in torch.from_numpy(x_test).split(cfg.train.eval_batch_size)]).double().numpy()
    baseline = task.fit_baseline(x_train, y_train)
    results = {"model": probs, "baseline": task.baseline_probs(baseline, x_test)}
    metrics = {name: task.metrics(p, y_test) for name, p in results.items()}

    with atomic_dir(reports / "plots") as plots:
        task.plots(results, y_test, data.meta["classes"], plots)
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
    print(f"evaluated {cfg.name} on {len(y_test)} test rows:\n  {'metric':<{width}}  model     baseline")
    for k in metrics["model"]:
        print(f"  {k:<{width}}  {metrics['model'][k]:<8.4f}  {metrics['baseline'][k]:.4f}")
    return metrics


main = hydra_entry(run)

if __name__ == "__main__":
    main()
