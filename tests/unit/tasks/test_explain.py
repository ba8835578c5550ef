"""Explanations in evaluate (dlforge.tasks.explain): every family writes its files with finite numbers, and
on the tiny CSV (y depends on x1 and kind, not on x2) the trained network's attributions rank x1 first.

The tabular case reads what the real prepare → train → evaluate wrote for the session's tiny registry
(conftest.build_registry; explain/ logged to MLflow too). The other
families explain a freshly initialised, seeded network on the real prepared data: the files and their
numbers are what is checked there, not what an untrained network attends to.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from hydra.utils import instantiate
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf

from conftest import compose_tiny


def _finite(value) -> bool:
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return not isinstance(value, float) or math.isfinite(value)


def _rows(path: Path) -> list[dict]:
    rows = json.loads(path.read_text())
    assert rows and _finite(rows), path
    return rows


def _explain(make_cfg, use_case: str, out: Path) -> dict:
    """Prepare `use_case`, build its network (seeded, untrained) and run the task's explain into `out`."""
    from pipelines import prepare

    cfg = make_cfg(f"experiment={use_case}")
    prepare.run(cfg)
    from dlforge.data import prepared

    data = prepared.load(cfg.paths.prepared)
    torch.manual_seed(0)
    net = instantiate({**OmegaConf.to_container(cfg.model.net, resolve=True), **data.meta["net"]}).eval()
    task = instantiate(cfg.task)
    out.mkdir()
    task.explain(net, data, out)
    assert {p.name for p in out.iterdir()} >= {*type(task).EXPLAIN_PLOTS, "summary.json"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["headline"] and _finite(summary)
    return summary


def test_tabular_attributions_rank_the_informative_feature_first(tiny_registry, tmp_path: Path):
    """What the real prepare → train (8 epochs) → evaluate wrote: the session's tiny registry (conftest.build_registry)."""
    root, uri = tiny_registry
    cfg = compose_tiny(root, uri, "trainer.max_epochs=8")  # build_registry's trained run
    out = root / "reports" / "tiny" / "explain"
    rows = _rows(out / "attributions.json")
    assert {r["feature"] for r in rows} == {"x1", "x2", "kind"}
    assert rows[0]["feature"] == "x1"  # sorted by Integrated Gradients
    by = {r["feature"]: r for r in rows}
    assert by["x1"]["permutation"] > by["x2"]["permutation"] and by["x1"]["baseline_coef"] > by["x2"]["baseline_coef"]
    assert (out / "attributions.png").stat().st_size > 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["top_features"][0] == "x1" and summary["headline"].startswith("top feature x1")
    run_id = json.loads((root / "models" / "tiny" / "run.json").read_text())["run_id"]
    logged = {a.path for a in MlflowClient(uri).list_artifacts(run_id, "explain")}
    assert logged == {"explain/attributions.json", "explain/attributions.png", "explain/summary.json"}

    again = tmp_path / "again"  # deterministic: the same network and data give the same numbers
    again.mkdir()
    from dlforge.data import prepared
    from dlforge.models.export import load_net

    instantiate(cfg.task).explain(load_net(root / "models/tiny/model.pt"), prepared.load(cfg.paths.prepared), again)
    assert (again / "attributions.json").read_text() == (out / "attributions.json").read_text()


def test_image_attribution_maps(make_cfg, tmp_path: Path):
    _explain(make_cfg, "digits", tmp_path / "explain")
    rows = _rows(tmp_path / "explain" / "attributions.json")
    assert len(rows) == 10  # one row per class
    assert (tmp_path / "explain" / "attributions.png").stat().st_size > 0


def test_text_token_attributions(make_cfg, tmp_path: Path):
    _explain(make_cfg, "reviews", tmp_path / "explain")
    rows = _rows(tmp_path / "explain" / "tokens.json")
    assert len(rows) == 20 and all(r["token"] for r in rows)
    assert "| review | position | token | attribution |" in (tmp_path / "explain" / "tokens.md").read_text()


def test_forecast_lag_weights(make_cfg, tmp_path: Path):
    summary = _explain(make_cfg, "sunspots", tmp_path / "explain")
    rows = _rows(tmp_path / "explain" / "lags.json")
    assert [r["lag"] for r in rows][-1] == "lag_1" and all(r["weight"] >= 0 for r in rows)
    assert set(summary["weights"]) == {r["lag"] for r in rows}


def test_recommender_embedding_neighbours(make_cfg, tmp_path: Path):
    _explain(make_cfg, "movielens", tmp_path / "explain")
    rows = _rows(tmp_path / "explain" / "neighbours.json")
    assert len(rows) == 25 and all(-1 <= r["similarity"] <= 1 and r["movie"] != r["neighbour"] for r in rows)
    assert "| movie | rank | neighbour | similarity |" in (tmp_path / "explain" / "neighbours.md").read_text()


def test_generator_says_why_it_has_no_attributions(make_cfg, tmp_path: Path):
    task = instantiate(make_cfg("experiment=digits_gan").task)
    task.explain(None, None, tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["explained"] is False and "generator" in summary["headline"]
