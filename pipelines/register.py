"""Register: log the servable model (preprocessing inside) and gate the `champion` alias.

The new version always becomes `challenger`. It becomes `champion` only if it beats the current
champion on the gate metric with confidence: both are scored through their served pyfunc on the
same raw test rows, and a paired bootstrap interval of the gain must clear `min_improvement`
(dlforge.registry.gate). The first version becomes champion. The decision, the interval and the
figures go to reports/<use_case>/registry.json (numbers only, for DVC) and onto the version's tags;
every alias move is logged on the registered model (dlforge.registry.aliases). Bad input fails
before anything is registered.
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
from dlforge.threads import limit as limit_threads
from pipelines._entry import hydra_entry


def run(cfg: DictConfig) -> dict:
    check(cfg, ["task", "register", "paths", "tracking"])
    data = prepared_data.load(cfg.paths.prepared)
    models, reports = Path(cfg.paths.models), Path(cfg.paths.reports)
    gate = cfg.register.gate
    test_metrics = read_json(reports / "metrics.json")["model"]
    if gate.metric not in test_metrics:
        raise UserError(
            f"config key 'register.gate.metric': '{gate.metric}' is not a metric of this task (has: {', '.join(test_metrics)})"
        )

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow
    from hydra.utils import instantiate

    from dlforge.registry import aliases, publish
    from dlforge.registry.gate import check_settings, paired_bootstrap
    from dlforge.tracking import runs

    check_settings(gate.confidence, gate.bootstrap_samples)
    limit_threads(cfg.train.threads)
    run_id = runs.require_run(runs.read_run_ref(models / "run.json"), "register")
    mlflow.set_tracking_uri(cfg.tracking.uri)
    client = runs.client(cfg.tracking.uri)
    task = instantiate(cfg.task)
    requests, truth, pre = task.serving_input(data), task.reference(data), data.preprocessor()

    def predictions(model_uri: str):
        return task.pred_from_output(publish.predict(model_uri, requests), pre)

    with tempfile.TemporaryDirectory(prefix="dlforge-register-") as tmp:
        model_uri = publish.log_model(run_id, models / "model.pt", data, cfg.task._target_, requests, Path(tmp))
    challenger = predictions(model_uri)
    name = cfg.register.model_name
    lock = aliases.hold(client, name)  # one registration at a time: read champion → gate → move (issue 11)
    current = aliases.current(client, name, "champion")
    champion = None
    if current is not None:
        try:
            champion = predictions(f"models:/{name}@champion")
        except Exception as e:  # an older champion that cannot read today's inputs cannot be compared
            print(
                f"champion v{current.version} cannot score the current test set ({' '.join(str(e).split())[:200]}); treating it as absent"
            )
    decision = paired_bootstrap(
        gate.metric,
        lambda p, t: task.metric(gate.metric, p, t),
        challenger,
        champion,
        truth,
        gate.higher_is_better,
        gate.min_improvement,
        gate.confidence,
        gate.bootstrap_samples,
        gate.seed,
        task.strata(data),
    )

    tags = {f"test_{k}": str(v) for k, v in test_metrics.items()}
    tags.update(
        {f"dlforge.gate.{k}": str(v).lower() if isinstance(v, bool) else str(v) for k, v in decision.figures().items()}
    )
    tags.update({"dlforge.gate.metric": gate.metric, "dlforge.gate.reason": decision.reason})
    tags.update({k: v for k, v in client.get_run(run_id).data.tags.items() if k.startswith("dlforge.")})
    version = publish.register(model_uri, name, tags)
    aliases.move(client, name, "challenger", int(version.version), "gate", "newly registered")
    if decision.promoted:
        aliases.move(client, name, "champion", int(version.version), "gate", decision.reason)
    lock.release()
    champion_version = int(version.version) if decision.promoted else int(current.version)
    record = {
        "model_name": name,
        "version": int(version.version),
        "champion_version": champion_version,
        "metric": gate.metric,
        "higher_is_better": gate.higher_is_better,
        **decision.figures(),
    }
    write_json(reports / "registry.json", record)  # DVC metrics: numbers and booleans (plus names)
    client.log_dict(
        run_id,
        {**record, "reason": decision.reason, "config": OmegaConf.to_container(cfg.register, resolve=True)},
        "registry.json",
    )
    print(f"registered {name} v{version.version}: {decision.reason} → champion is v{champion_version}")
    return {**record, "reason": decision.reason}


main = hydra_entry(run)

if __name__ == "__main__":
    main()
