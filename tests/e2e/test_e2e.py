"""The real pipeline: `dvc repro` in a temporary clone-like copy of the repo, embedded MLflow.

It reproduces the two spine use cases (tabular and image classification), which exercise every
DVC behaviour here; the other families run through the same stage functions in their own test
files (test_forecasting, test_sentiment, test_gan, test_recommender, test_byo), and
test_dvc_sync checks that dvc.yaml's use cases are the ones conf/experiment/ composes.
"""

from __future__ import annotations

import re
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_digits

from conftest import copy_repo, git_commit, sh

pytestmark = pytest.mark.e2e
USE_CASES = ("credit_default", "digits")
STAGES = ("prepare", "train", "evaluate", "register")
TARGETS = [f"register@{u}" for u in USE_CASES]  # and, through their deps, every stage of these use cases
EPOCHS = 8  # instead of the use cases' 40 (with early stopping)


def _ran(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> tuple[Path, str]:
    """A fresh copy of the repo's committed-or-pending files, as `git clone` would give, after `dvc repro`.

    Both use cases train for at most EPOCHS epochs (committed in the copy): what is checked is the
    pipeline's behaviour and that the champions really learnt, not the full training's quality.
    """
    dest = copy_repo(tmp_path_factory.mktemp("clone"))
    for use_case in USE_CASES:
        path = dest / f"conf/experiment/{use_case}.yaml"
        path.write_text(re.sub(r"max_epochs: \d+", f"max_epochs: {EPOCHS}", path.read_text(), count=1))
    git_commit(dest, "shorter training")
    first = sh(["dvc", "repro", *TARGETS], dest)
    return dest, first.stdout


def test_repro_runs_every_stage_and_registers_champions(repo):
    dest, output = repo
    assert _ran(output) == {f"{s}@{u}" for s in STAGES for u in USE_CASES}
    client = MlflowClient(f"sqlite:///{dest}/mlflow.db")
    for use_case in USE_CASES:
        champion = client.get_model_version_by_alias(use_case, "champion")
        assert int(champion.version) == 1
        assert champion.tags["dlforge.git_commit"] == sh(["git", "rev-parse", "HEAD"], dest).stdout.strip()
        run = client.get_run(champion.run_id)
        assert "test_accuracy" in run.data.metrics and "baseline_test_accuracy" in run.data.metrics
    assert not list(dest.glob("outputs")) and not list(dest.glob("*.log")) and not (dest / ".hydra").exists()


def test_champions_predict_on_raw_inputs(repo):
    dest, _ = repo
    mlflow.set_tracking_uri(f"sqlite:///{dest}/mlflow.db")
    credit = mlflow.pyfunc.load_model("models:/credit_default@champion")
    rows = pd.DataFrame(
        {"student": ["No", "Yes", "No"], "balance": [300.0, 2600.0, 1200.0], "income": [45000.0, 15000.0, 30000.0]}
    )
    out = credit.predict(rows)
    assert out["label"].tolist()[:2] == ["No", "Yes"]
    assert out["proba_Yes"][1] > out["proba_Yes"][2] > out["proba_Yes"][0]  # risk grows with balance
    digits = mlflow.pyfunc.load_model("models:/digits@champion")
    d = load_digits()
    pred = digits.predict(d.images[:200].astype(np.float32))  # raw 8x8 pixel values, 0-16
    assert (pred["label"].to_numpy() == d.target[:200]).mean() > 0.9


def test_metrics_and_plots_show_with_no_flags(repo):
    dest, _ = repo
    metrics = sh(["dvc", "metrics", "show"], dest).stdout
    assert (
        "reports/credit_default/metrics.json" in metrics and "model.pr_auc" in metrics and "baseline.pr_auc" in metrics
    )
    sh(["dvc", "plots", "show", "-o", str(dest / "dvc_plots")], dest)
    assert (dest / "dvc_plots" / "index.html").exists()


def test_second_repro_runs_nothing(repo):
    dest, _ = repo
    again = sh(["dvc", "repro", *TARGETS], dest)
    assert _ran(again.stdout) == set()
    assert "Data and pipelines are up to date." in sh(["dvc", "status", "--with-deps", *TARGETS], dest).stdout


def test_edits_rerun_only_what_depends_on_them(repo):
    dest, _ = repo
    path = dest / "conf/experiment/credit_default.yaml"
    original = path.read_text()
    exp = yaml.safe_load(original)
    exp["model"]["net"]["hidden"] = [32, 16]
    path.write_text("# @package _global_\n" + yaml.safe_dump(exp))
    assert _ran(sh(["dvc", "repro", *TARGETS], dest).stdout) == {
        "train@credit_default",
        "evaluate@credit_default",
        "register@credit_default",
    }

    client = MlflowClient(f"sqlite:///{dest}/mlflow.db")
    champion = client.get_model_version_by_alias("credit_default", "champion").version
    exp["register"]["gate"]["min_improvement"] = 0.5  # no PR-AUC gain can clear this
    path.write_text("# @package _global_\n" + yaml.safe_dump(exp))
    assert _ran(sh(["dvc", "repro", *TARGETS], dest).stdout) == {"register@credit_default"}
    assert int(client.get_model_version_by_alias("credit_default", "challenger").version) == 3
    assert client.get_model_version_by_alias("credit_default", "champion").version == champion
