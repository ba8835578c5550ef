"""Register: log the servable model (preprocessing inside) and gate the `champion` alias.

The new version always becomes `challenger`. It becomes `champion` only if it beats the current
champion on the gate metric with confidence: both are scored through their served pyfunc on the
same raw test rows, and a paired bootstrap interval of the gain must clear `min_improvement`
(dlforge.registry.gate). The first version becomes champion. The decision, the interval and the
figures go to reports/<use_case>/registry.json (numbers only, for DVC) and onto the version's tags;
every alias move is logged on the registered model (dlforge.registry.aliases). Bad input fails
before anything is registered. The task is built without its baselines (register fits none, so it
never imports scikit-learn: dlforge.tasks.base.build).

A champion that cannot be scored (a class it names is gone, a missing artifact, a server error)
stops register with one line naming the version and why, and nothing is registered or moved;
`register.gate.replace_incompatible=true` replaces it instead, recorded as kind
`replace_incompatible` in the alias history. A version is marked `dlforge.gate.applied` once its
aliases have moved; a re-run that finds a version of the same training run without that mark (a
register killed after registering) finishes that version instead of registering another.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from dlforge import keys as K
from dlforge import kill_points
from dlforge.config.validate import check
from dlforge.data import prepared as prepared_data
from dlforge.errors import UserError
from dlforge.io import read_json, write_json
from dlforge.tasks.directions import higher_is_better
from dlforge.threads import limit as limit_threads
from pipelines._entry import hydra_entry


def run(cfg: DictConfig) -> dict:
    check(cfg, ["task", "register", "paths", "tracking"], baselines=False)  # no baseline here: no sklearn
    data = prepared_data.load(cfg.paths.prepared)
    models, reports = Path(cfg.paths.models), Path(cfg.paths.reports)
    gate = cfg.register.gate
    test_metrics = read_json(reports / "metrics.json")["model"]
    if gate.metric not in test_metrics:
        raise UserError(
            f"config key 'register.gate.metric': '{gate.metric}' is not a metric of this task (has: {', '.join(test_metrics)})"
        )
    higher_is_better(gate.metric)  # a metric without a direction fails here, before anything is logged

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    from dlforge.registry import aliases, model_card, publish
    from dlforge.registry.gate import check_settings, paired_bootstrap
    from dlforge.tasks.base import build as build_task
    from dlforge.tasks.base import join
    from dlforge.tracking import liveness, runs

    check_settings(gate.confidence, gate.bootstrap_samples)
    limit_threads(cfg.train.threads)
    ref = runs.read_run_ref(models / "run.json")
    run_id = runs.require_run(ref, "register")
    mlflow.set_tracking_uri(cfg.tracking.uri)
    client = runs.client(cfg.tracking.uri)
    task = build_task(cfg.task, baselines=False)  # the gate scores served models only
    truth, pre = task.reference(data), data.preprocessor()
    requests = next(iter(task.serving_batches(data)))  # the first test requests: the logged example, the model card

    def predictions(model_uri: str):
        """The served model's predictions on every test request, batch by batch (bounded memory)."""
        model = publish.load(model_uri)
        return join([task.serving.pred_from_output(model.predict(r), pre) for r in task.serving_batches(data)])

    name = cfg.register.model_name
    with aliases.hold(client, name):  # one registration at a time: read champion → gate → move
        liveness.close_stale(client, cfg.tracking.experiment)
        left = publish.unapplied_version(client, name, run_id)
        current = aliases.current(client, name, K.CHAMPION)
        champion, kind = None, "gate"
        if current is not None and (
            left is None or current.version != left.version
        ):  # scored first: a failure writes nothing
            try:
                champion = predictions(f"models:/{name}@champion")
            except Exception as e:  # noqa: BLE001 (any failure: the user decides, below)
                why = " ".join(str(e).split())[:300] or type(e).__name__
                if not gate.replace_incompatible:
                    raise UserError(
                        f"champion v{current.version} of '{name}' cannot score today's test set ({type(e).__name__}: {why}); "
                        "nothing registered or moved. To replace it anyway set register.gate.replace_incompatible=true"
                    ) from e
                kind, incompatible = (
                    "replace_incompatible",
                    f"champion v{current.version} cannot score today's test set ({why})",
                )
        if left is not None:  # registered by a register that was killed before it moved the aliases
            print(f"finishing {name} v{left.version}: registered from this run without its gate decision applied")
            model_uri = f"models:/{name}/{left.version}"
        else:
            liveness.claim(client, run_id)  # log_model reopens the training run: mark it as ours while it is open
            with tempfile.TemporaryDirectory(prefix="dlforge-register-") as tmp:
                model_uri = publish.log_model(
                    run_id,
                    cfg.name,
                    ref.get("best_epoch"),
                    models / "model.pt",
                    data,
                    task.serving,
                    requests,
                    Path(tmp),
                )
        challenger = predictions(model_uri)
        decision = paired_bootstrap(
            gate.metric,
            lambda p, t: task.metric(gate.metric, p, t),
            challenger,
            champion,
            truth,
            higher_is_better(gate.metric),
            gate.min_improvement,
            gate.confidence,
            gate.bootstrap_samples,
            gate.seed,
            task.strata(data),
        )
        if kind == "replace_incompatible":
            decision = dataclasses.replace(
                decision, reason=f"{incompatible}: replaced (register.gate.replace_incompatible)"
            )
        elif left is not None and current is not None and current.version == left.version:
            decision = dataclasses.replace(decision, reason="already champion: promoted by the interrupted register")

        tags = {f"test_{k}": str(v) for k, v in test_metrics.items()}
        tags.update(
            {f"{K.GATE}{k}": str(v).lower() if isinstance(v, bool) else str(v) for k, v in decision.figures().items()}
        )
        tags.update({K.GATE + "metric": gate.metric, K.GATE + "reason": decision.reason})
        tags.update({k: v for k, v in client.get_run(run_id).data.tags.items() if k.startswith(K.PREFIX)})
        if left is not None:
            for k, v in tags.items():
                client.set_model_version_tag(name, left.version, k, v)
            version = left
        else:
            version = publish.register(model_uri, name, tags)
        kill_points.point("register_before_alias")  # tests: a kill here leaves a version whose aliases never moved
        aliases.move(client, name, K.CHALLENGER, int(version.version), "gate", "newly registered")
        if decision.promoted:
            aliases.move(client, name, K.CHAMPION, int(version.version), kind, decision.reason)
        client.set_model_version_tag(name, version.version, publish.APPLIED, "true")
    champion_version = int(version.version) if decision.promoted else int(current.version)
    record = {
        "model_name": name,
        "version": int(version.version),
        "champion_version": champion_version,
        "metric": gate.metric,
        "higher_is_better": higher_is_better(gate.metric),
        **decision.figures(),
    }
    write_json(reports / "registry.json", record)  # DVC metrics: numbers and booleans (plus names)
    all_metrics, gate_record = read_json(reports / "metrics.json"), {**record, "reason": decision.reason}
    model_card.describe(client, name, record["version"], run_id, cfg, data, all_metrics, gate_record, requests)
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
