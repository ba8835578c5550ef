"""Start-up: the stages that do not train never import Lightning (it alone costs seconds per process),
and register, which fits no baseline, never imports scikit-learn (the probes' companions show they can fail).
Prepare importing no torch: tests/stages/test_stages.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import ROOT, tiny_overrides
from pipelines import prepare, train

# Everything prepare, evaluate and register import, at the top and inside run(): the stage modules,
# every task (evaluate and register instantiate one), the registry, serving and checkpoint loading.
STAGE_IMPORTS = [
    "pipelines.prepare",
    "pipelines.evaluate",
    "pipelines.register",
    "dlforge.tasks.classification",
    "dlforge.tasks.regression",
    "dlforge.tasks.forecasting",
    "dlforge.tasks.recommendation",
    "dlforge.tasks.text_classification",
    "dlforge.tasks.generation",
    "dlforge.registry.publish",
    "dlforge.registry.aliases",
    "dlforge.registry.gate",
    "dlforge.serving.pyfunc",
    "dlforge.models.export",
    "dlforge.tracking.runs",
    "dlforge.data.prepared",
]
HEAVY = ["pytorch_lightning", "lightning", "lightning_fabric", "sklearn"]


def test_prepare_evaluate_register_do_not_import_lightning_or_sklearn():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in STAGE_IMPORTS)
        + f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "", f"imported at start-up: {proc.stdout.strip()}"


def test_the_check_sees_lightning_when_it_is_imported():
    """The same probe on the train stage's module graph does report Lightning (the test above can fail)."""
    code = "import sys\nimport dlforge.models.classifier\nprint('pytorch_lightning' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "True"


# Every use case's task as register builds it: checked and instantiated without its baselines.
_BUILD_TASKS = (
    "import sys\n"
    "from pathlib import Path\n"
    "from hydra import compose, initialize_config_dir\n"
    "import dlforge.config.schema\n"
    "from dlforge.config.validate import check\n"
    "from dlforge.tasks.base import build\n"
    "initialize_config_dir(config_dir=str(Path('conf').resolve()), version_base='1.3')\n"
    "for f in sorted(Path('conf/experiment').glob('*.yaml')):\n"
    "    cfg = compose('config', overrides=[f'experiment={f.stem}'])\n"
    "    check(cfg, ['task'], baselines=BASELINES)\n"
    "    build(cfg.task, baselines=BASELINES)\n"
    "print(' '.join(m for m in ('sklearn', 'pytorch_lightning') if m in sys.modules))"
)


def _build_every_task(baselines: bool) -> str:
    code = _BUILD_TASKS.replace("BASELINES", str(baselines))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip()


def test_every_task_builds_without_its_baselines_and_without_sklearn():
    """A task whose config builds an sklearn estimator must list that argument in `baseline_args`."""
    assert _build_every_task(baselines=False) == ""


def test_the_task_check_sees_sklearn_when_baselines_are_built():
    assert _build_every_task(baselines=True) == "sklearn"


def _stage_in_subprocess(stage: str, overrides: list[str]) -> tuple[dict, list[str]]:
    """Run `pipelines.<stage>.run` on the composed config in a fresh process: its result and heavy imports."""
    code = (
        "import json, sys\n"
        "from hydra import compose, initialize_config_dir\n"
        "import dlforge.config.schema\n"
        f"from pipelines import {stage}\n"
        f"initialize_config_dir(config_dir='{ROOT / 'conf'}', version_base='1.3')\n"
        f"result = {stage}.run(compose('config', overrides={overrides!r}))\n"
        f"print(json.dumps([result, [m for m in {HEAVY!r} if m in sys.modules]]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result, heavy = json.loads(proc.stdout.strip().splitlines()[-1])
    return result, heavy


def test_register_runs_without_lightning_or_sklearn(make_cfg, tiny_csv, tmp_path, mlflow_db):
    """The real evaluate (it fits the sklearn baseline: the probe sees it) and register (it fits none)."""
    overrides = [
        f"paths.prepared={tmp_path}/data/${{name}}",
        f"paths.models={tmp_path}/models/${{name}}",
        f"paths.reports={tmp_path}/reports/${{name}}",
        f"paths.checkpoints={tmp_path}/checkpoints/${{name}}",
        f"tracking.uri=sqlite:///{tmp_path}/mlflow.db",
        *tiny_overrides(tiny_csv),
    ]
    cfg = make_cfg(*tiny_overrides(tiny_csv))
    prepare.run(cfg)
    train.run(cfg)
    metrics, heavy = _stage_in_subprocess("evaluate", overrides)
    assert "baseline" in metrics and heavy == ["sklearn"]
    record, heavy = _stage_in_subprocess("register", overrides)
    assert record["version"] == 1 and record["promoted"]
    assert heavy == [], f"register imported {heavy}"


def test_a_stage_process_tunes_its_garbage_collector_and_an_import_does_not(tmp_path):
    """dlforge.gc_tuning: a `python -m pipelines.<stage>` process collects rarely and freezes its objects
    after its last atexit handler (seen by a probe whose handler runs after it); importing the stage
    modules elsewhere (tests, notebooks) leaves Python's collector as it was."""
    (tmp_path / "sitecustomize.py").write_text(
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('collector', gc.get_threshold()[0], gc.get_freeze_count() > 0, file=sys.stderr))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT / "src"), str(ROOT)])}

    def collector(*args: str) -> str:
        proc = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return [line for line in proc.stderr.splitlines() if line.startswith("collector ")][-1]

    assert collector("-m", "pipelines.prepare", "--cfg", "job", "experiment=digits") == "collector 50000 True"
    assert collector("-c", "import pipelines.prepare") == "collector 700 False"
