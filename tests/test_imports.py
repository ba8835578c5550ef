"""Start-up: the stages that do not train never import Lightning (it alone costs seconds per process)."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

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
    "dlforge.models.checkpoint",
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
