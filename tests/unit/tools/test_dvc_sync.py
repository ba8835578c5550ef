"""DVC's interactive plots: the generated plots block is current, the curve helpers are right, and in a
repo copy a real `dvc repro` + `dvc plots show/diff` draws every declared plot and overlays revisions."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import yaml

from conftest import CONF, ROOT, copy_repo, git_commit, sh
from dlforge.tasks import plot_data
from tools import dvc_sync

TRACKED_SECTIONS = {"data", "model", "train", "trainer", "callbacks", "task", "register"}


def test_dvc_yaml_blocks_are_generated_from_conf_and_the_tasks():
    text = (ROOT / "dvc.yaml").read_text()
    assert dvc_sync.USE_CASES_MARKER in text and dvc_sync.PLOTS_MARKER in text, "run `make dvc-sync`"
    assert text == dvc_sync.synced(text, ROOT), "dvc.yaml's generated blocks are stale: run `make dvc-sync`"
    declared = {name: props for d in yaml.safe_load(text)["plots"] for name, props in d.items()}
    for key in dvc_sync.declared_use_cases(ROOT):  # every use case has at least its methods bar chart, read through `y`
        assert f"reports/{key}/curves/methods.json" in declared[f"{key}-methods"]["y"]


def test_the_use_cases_are_the_built_in_experiments_with_the_groups_hydra_picks():
    """Bring-your-own examples (byo_*) run on the user's file, so `make pipeline` leaves them out."""
    cases = dvc_sync.declared_use_cases(ROOT)
    assert set(cases) == {p.stem for p in (CONF / "experiment").glob("*.yaml") if not p.stem.startswith("byo_")}
    assert cases["mnist_gan"] == {
        "data": "mnist_gan",
        "model": "dcgan",
        "task": "generation",
        "trainer": "cpu",  # conf/config.yaml's default: the experiment does not pick one
        "callbacks": "gan",
        "raw": "conf/data/mnist_gan.yaml",  # a packaged dataset: prepare's raw input is its data config
    }


@pytest.mark.parametrize("use_case", sorted(dvc_sync.declared_use_cases(ROOT)))
def test_experiment_lists_every_section_dvc_tracks(use_case):
    """DVC fails on a params key that is missing from its file, so each section is there, even empty."""
    experiment = yaml.safe_load((CONF / "experiment" / f"{use_case}.yaml").read_text())
    assert TRACKED_SECTIONS <= experiment.keys()


@pytest.mark.e2e
def test_a_new_use_case_is_two_config_files(tmp_path):
    """A data config and an experiment config (reusing the MLP), `make dvc-sync`, `dvc repro`: registered."""
    repo = copy_repo(tmp_path)
    data = (repo / "conf/data/tabular_csv.yaml").read_text()
    (repo / "conf/data/penguins.yaml").write_text(data)  # the example table's spec, under its own name
    (repo / "conf/experiment/penguins.yaml").write_text(
        "# @package _global_\n"
        "defaults:\n  - override /data: penguins\n  - override /model: mlp\n  - override /task: classification\n"
        "name: penguins\ndata: {}\nmodel: {}\ntrain: {}\ntrainer:\n  max_epochs: 2\ncallbacks: {}\ntask: {}\n"
        "register:\n  gate:\n    metric: accuracy\n"
    )
    sh([sys.executable, "-m", "tools.dvc_sync", "--write"], repo)
    assert dvc_sync.declared_use_cases(repo)["penguins"]["model"] == "mlp"
    sh(["dvc", "repro", "register@penguins"], repo)
    registry = json.loads((repo / "reports/penguins/registry.json").read_text())
    assert registry["version"] == 1 and registry["promoted"]
    assert "changed" not in sh(["dvc", "status", "register@penguins"], repo).stdout
    table = repo / "examples/byo/tabular.csv"  # the user's file is prepare's dependency
    table.write_text(table.read_text().replace("37.6", "37.7", 1))
    assert "prepare@penguins" in sh(["dvc", "status", "prepare@penguins"], repo).stdout


def test_roc_and_pr_on_the_grid():
    # a perfect ranking: TPR 1 from FPR 0 on; precision 1 at every recall
    assert np.allclose(plot_data.roc_on_grid(np.array([0, 0, 1.0]), np.array([0, 1.0, 1])), 1.0)
    assert np.allclose(plot_data.pr_on_grid(np.array([1.0, 0.5, 0]), np.array([1.0, 1, 1])), 1.0)
    # interpolated precision: the best precision at this recall or more
    pr = plot_data.pr_on_grid(np.array([1.0, 0.5, 0.0]), np.array([0.5, 0.8, 1.0]))
    assert pr[0] == 1.0 and pr[50] == 0.8 and pr[51] == 0.5 and pr[100] == 0.5


def test_rows_are_plain_json(tmp_path):
    plot_data.write_rows(tmp_path / "r.json", [{"a": np.float32(0.1234567), "b": np.int64(3), "c": np.nan}])
    assert json.loads((tmp_path / "r.json").read_text()) == [{"a": 0.123457, "b": 3, "c": None}]


@pytest.mark.e2e
def test_dvc_plots_show_and_diff_draw_the_data_plots(tmp_path):
    """digits for one epoch, then a second revision (another baseline C: only evaluate re-runs): every
    declared plot is a Vega chart, and `dvc plots diff` overlays both revisions' rows."""
    repo = copy_repo(tmp_path)
    exp = repo / "conf" / "experiment" / "digits.yaml"
    exp.write_text(exp.read_text().replace("max_epochs: 40", "max_epochs: 1"))
    sh(["dvc", "repro", "evaluate@digits"], repo)
    git_commit(repo, "digits, 1 epoch")
    # the other use cases' outputs are in dvc.lock but neither here nor in the cache: their plots alone fail
    shown = json.loads(sh(["dvc", "plots", "show", "--json"], repo, check=False).stdout)
    failed = {e["name"] for e in shown["errors"] if "name" in e}
    assert "credit_default-roc" in failed and not any(name.startswith("digits-") for name in failed)
    shown = shown["data"]
    for name in ("roc", "pr", "confusion", "methods"):
        (plot,) = shown[f"digits-{name}"]
        assert plot["type"] == "vega" and plot["content"]["data"]["values"], name
    roc = shown["digits-roc"][0]["content"]["data"]["values"]
    assert {v["field"] for v in roc} == {"model", "baseline"}  # one line per method
    (loss,) = shown["reports/digits/training/plots/metrics/val/loss.tsv"]
    assert loss["type"] == "vega"
    (explained,) = shown["digits-attributions"]  # explanations (dlforge.tasks.explain)
    assert explained["type"] == "vega" and len(explained["content"]["data"]["values"]) == 10

    task = repo / "conf" / "task" / "classification.yaml"
    task.write_text(task.read_text().replace("C: 1.0 ", "C: 0.01"))
    sh(["dvc", "repro", "evaluate@digits"], repo)
    diff = json.loads(sh(["dvc", "plots", "diff", "HEAD", "--json"], repo, check=False).stdout)["data"]
    revs = {v["rev"] for v in diff["digits-roc"][0]["content"]["data"]["values"]}
    assert revs == {"HEAD", "workspace"}
    metrics = json.loads(sh(["dvc", "metrics", "show", "--json"], repo).stdout)
    summary = next(iter(metrics.values()))["data"]["reports/digits/training/metrics.json"]["data"]
    assert summary["epoch"] == 0 and "loss" in summary["val"]  # the DVCLive summary: `dvc exp show` columns
