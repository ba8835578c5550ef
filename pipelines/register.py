"""Register: log the servable model (preprocessing inside) and gate the `champion` alias.

The new version always becomes `challenger`. It becomes `champion` only if it beats the current
champion on the gate metric, both scored through their served pyfunc on the same raw test rows;
the first version becomes champion. The decision goes to reports/<use_case>/registry.json and onto
the version's tags. Bad input fails before anything is registered.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from dlforge.config.validate import check
from dlforge.data import prepared as prepared_data
from dlforge.errors import UserError
from dlforge.io import read_json, write_json

from pipelines._entry import hydra_entry


def run(cfg: DictConfig) -> dict:
    check(cfg, ["task", "register", "paths", "tracking"])
    data = prepared_data.load(cfg.paths.prepared)
    models, reports = Path(cfg.paths.models), Path(cfg.paths.reports)
    gate = cfg.register.gate
    test_metrics = read_json(reports / "metrics.json")["model"]
    if gate.metric not in test_metrics:
        raise UserError(f"config key 'register.gate.metric': '{gate.metric}' is not a metric of this task (has: {', '.join(test_metrics)})")

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow
    from hydra.utils import instantiate

    from dlforge.registry import publish
    from dlforge.registry.gate import decide
    from dlforge.tracking import runs

    run_id = runs.require_run(runs.read_run_ref(models / "run.json"), "register")
    mlflow.set_tracking_uri(cfg.tracking.uri)
    client = runs.client(cfg.tracking.uri)
    task = instantiate(cfg.task)
    raw, (_, y) = data.raw_test(), data.arrays("test")
    classes = data.meta["classes"]

    def score(model_uri: str) -> float:
        return task.metrics(task.probs_from_output(publish.predict(model_uri, raw), classes), y)[gate.metric]

    with tempfile.TemporaryDirectory(prefix="dlforge-register-") as tmp:
        model_uri = publish.log_model(run_id, models / "model.pt", data, cfg.task._target_, Path(tmp))
    challenger = score(model_uri)
    name = cfg.register.model_name
    current = publish.alias_version(client, name, "champion")
    champion = None
    if current is not None:
        try:
            champion = score(f"models:/{name}@champion")
        except Exception as e:  # an older champion that cannot read today's inputs cannot be compared
            print(f"champion v{current.version} cannot score the current test set ({' '.join(str(e).split())[:200]}); treating it as absent")
    decision = decide(gate.metric, challenger, champion, gate.higher_is_better, gate.min_improvement)

    tags = {f"test_{k}": str(v) for k, v in test_metrics.items()}
    tags.update({"dlforge.gate.metric": gate.metric, "dlforge.gate.promoted": str(decision.promoted).lower(), "dlforge.gate.reason": decision.reason})
    tags.update({k: v for k, v in client.get_run(run_id).data.tags.items() if k.startswith("dlforge.")})
    version = publish.register(model_uri, name, tags)
    client.set_registered_model_alias(name, "challenger", version.version)
    if decision.promoted:
        client.set_registered_model_alias(name, "champion", version.version)
    champion_version = int(version.version) if decision.promoted else int(current.version)
    record = {"model_name": name, "version": int(version.version), "champion_version": champion_version, **decision.as_dict()}
    write_json(reports / "registry.json", {k: v for k, v in record.items() if k != "reason"})  # DVC metrics: figures only
    client.log_dict(run_id, {**record, "config": OmegaConf.to_container(cfg.register, resolve=True)}, "registry.json")
    print(f"registered {name} v{version.version}: {decision.reason} → champion is v{champion_version}")
    return record


main = hydra_entry(run)

if __name__ == "__main__":
    main()
