"""Seed spread: the summary of several seeds, and the results table's ✓ only when every seed beats."""

from __future__ import annotations

import json
import shutil

from conftest import ROOT
from tools import results
from tools.dvc_sync import declared_use_cases
from tools.seeds import summarise


def _seed(model: float, baseline: float, other: float, higher: bool = True) -> dict:
    return {
        "metric": "accuracy",
        "higher_is_better": higher,
        "torch_threads": 1,
        "values": {"model": model, "baseline": baseline, "naive": other},
    }


def test_summary_takes_the_best_baseline_by_mean_and_counts_paired_wins():
    s = summarise({1: _seed(0.90, 0.85, 0.5), 2: _seed(0.80, 0.86, 0.5), 3: _seed(0.91, 0.84, 0.5)})
    assert s["best_baseline"] == "baseline" and s["wins"] == 2 and not s["beats_on_every_seed"]
    assert abs(s["model"]["mean"] - 0.87) < 1e-12 and s["model"]["sd"] > 0
    assert set(s["baselines"]) == {"baseline", "naive"} and abs(s["margin"] - (0.87 - 0.85)) < 1e-12


def test_a_win_needs_every_baseline_beaten_on_the_same_seed():
    """The strongest by mean is `baseline`, but on seed 2 `naive` beats the model: that seed is no win."""
    s = summarise({1: _seed(0.90, 0.85, 0.5), 2: _seed(0.90, 0.80, 0.95), 3: _seed(0.90, 0.85, 0.5)})
    assert s["best_baseline"] == "baseline" and s["wins"] == 2 and not s["beats_on_every_seed"]
    low = summarise({1: _seed(1.0, 2.0, 3.0, False), 2: _seed(1.5, 2.0, 3.0, False)})
    assert low["beats_on_every_seed"] and low["best_baseline"] == "baseline"


def test_results_mark_a_win_only_over_every_seed(tmp_path):
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    for name in declared_use_cases(tmp_path):
        (tmp_path / "reports" / name).mkdir(parents=True)
        (tmp_path / "reports" / name / "metrics.json").write_text(
            json.dumps({"model": {"accuracy": 0.9}, "baseline": {"accuracy": 0.8, "fit_seconds": 1.5}})
        )
        (tmp_path / "reports" / name / "registry.json").write_text(
            json.dumps({"metric": "accuracy", "champion_version": 1})
        )
    (tmp_path / "docs").mkdir()
    lucky = summarise({1: _seed(0.9, 0.8, 0.1), 2: _seed(0.7, 0.8, 0.1), 3: _seed(0.9, 0.8, 0.1)})
    steady = summarise({1: _seed(0.9, 0.8, 0.1), 2: _seed(0.85, 0.8, 0.1), 3: _seed(0.9, 0.8, 0.1)})
    (tmp_path / "docs/seeds.json").write_text(json.dumps({"use_cases": {"credit_default": lucky, "digits": steady}}))
    rows = {r.split("|")[1].strip(): r for r in results.table(tmp_path).splitlines()[2:]}
    assert "✗ 2/3" in rows["credit_default"] and "✓ 3/3" in rows["digits"]
    assert "| 0.8333 ± 0.1155 | baseline 0.8000 ± 0.0000 |" in rows["credit_default"]
    assert "| baseline 0.8000 (1.5 s) |" in rows["digits"]  # the fit time beside the score
    losing = summarise({1: _seed(0.7, 0.8, 0.1), 2: _seed(0.75, 0.8, 0.1), 3: _seed(0.9, 0.8, 0.1)})
    (tmp_path / "docs/seeds.json").write_text(json.dumps({"use_cases": {"credit_default": losing}}))
    rows = {r.split("|")[1].strip(): r for r in results.table(tmp_path).splitlines()[2:]}
    assert "✗ 1/3, loses by 0.0167 on the mean" in rows["credit_default"]
    ahead = summarise({1: _seed(0.9, 0.8, 0.1), 2: _seed(0.75, 0.8, 0.1), 3: _seed(0.9, 0.8, 0.1)})
    (tmp_path / "docs/seeds.json").write_text(json.dumps({"use_cases": {"credit_default": ahead}}))
    rows = {r.split("|")[1].strip(): r for r in results.table(tmp_path).splitlines()[2:]}
    assert "✗ 2/3, loses by 0.0500 on seed 2" in rows["credit_default"]  # better on the mean, not on every seed
    assert "| ? |" in rows["sunspots"]  # a single seed is not evidence
