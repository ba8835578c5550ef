"""The confidence gate: paired bootstrap arithmetic, and the register stage deciding with it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from conftest import tiny_overrides
from dlforge.errors import UserError
from dlforge.registry import aliases
from dlforge.registry.gate import paired_bootstrap
from dlforge.tasks.classification import Classification
from pipelines import evaluate, prepare, register, train

TASK = Classification(baseline=None)


def _probs(y: np.ndarray, right: float, rng: np.random.Generator) -> np.ndarray:
    """Binary probabilities that put `right` mass on the true class, with some noise."""
    p_true = np.clip(right + rng.normal(0, 0.15, len(y)), 0.01, 0.99)
    pos = np.where(y == 1, p_true, 1 - p_true)
    return np.stack([1 - pos, pos], axis=1)


def _gate(challenger, champion, y, metric="accuracy", **kw):
    score = lambda p, t: TASK.metric(metric, p, t)  # noqa: E731
    return paired_bootstrap(metric, score, challenger, champion, y, kw.pop("higher", True), kw.pop("margin", 0.0), **kw)


def test_clearly_better_challenger_is_promoted_with_an_interval_above_zero():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    d = _gate(_probs(y, 0.8, rng), _probs(y, 0.55, rng), y, samples=500)
    assert d.promoted and 0 < d.ci_low < d.gain < d.ci_high and d.p_not_better == 0.0
    assert d.bootstrap_samples == 500 and d.confidence == 0.95 and "interval" in d.reason


def test_a_point_gain_inside_the_noise_keeps_the_champion():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 60)
    champion = _probs(y, 0.7, rng)
    challenger = champion.copy()
    flip = np.flatnonzero(champion.argmax(1) != y)[:2]  # two more rows right: a gain, but a tiny one
    challenger[flip] = challenger[flip][:, ::-1]
    d = _gate(challenger, champion, y, samples=1000)
    assert d.gain > 0 and d.ci_low <= 0 < d.ci_high and not d.promoted
    assert "does not clearly beat" in d.reason


def test_worse_challenger_keeps_the_champion_and_lower_is_better_flips_the_sign():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 300)
    good, bad = _probs(y, 0.85, rng), _probs(y, 0.6, rng)
    assert not _gate(bad, good, y, samples=200).promoted
    d = _gate(good, bad, y, metric="log_loss", higher=False, samples=200)
    assert d.promoted and d.gain > 0 and d.challenger < d.champion


def test_same_seed_same_interval_and_no_champion_promotes():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200)
    a, b = _probs(y, 0.7, rng), _probs(y, 0.65, rng)
    assert _gate(a, b, y, seed=5, samples=200) == _gate(a, b, y, seed=5, samples=200)
    first = _gate(a, None, y)
    assert first.promoted and first.ci_low is None and "ci_low" not in first.figures()


@pytest.mark.parametrize(
    "confidence, samples, key", [(1.0, 1000, "confidence"), (0.95, 10, "bootstrap_samples"), (0.0, 0, "confidence")]
)
def test_bad_gate_settings_name_their_key(confidence, samples, key):
    y = np.array([0, 1, 0, 1])
    p = np.full((4, 2), 0.5)
    with pytest.raises(UserError, match=f"config key 'register.gate.{key}'"):
        _gate(p, p, y, confidence=confidence, samples=samples)


def test_register_replaces_a_champion_only_when_clearly_better(make_cfg, tiny_csv, tmp_path):
    """An untrained first version is champion; a trained one replaces it; a retrain of the same does not."""
    tiny = lambda *extra: make_cfg(*tiny_overrides(tiny_csv), *extra)  # noqa: E731
    untrained = tiny("model.optimizer.lr=0.0")
    prepare.run(untrained)
    for cfg in (untrained, tiny("trainer.max_epochs=8")):
        train.run(cfg)
        evaluate.run(cfg)
        record = register.run(cfg)
    assert record["promoted"] and record["version"] == 2 and record["champion_version"] == 2
    on_disk = json.loads((tmp_path / "reports/tiny/registry.json").read_text())
    assert on_disk["ci_low"] > 0 and on_disk["ci_high"] >= on_disk["gain"] >= on_disk["ci_low"]
    assert on_disk["bootstrap_samples"] == 1000 and on_disk["promoted"] is True
    assert all(isinstance(v, (int, float, bool)) for k, v in on_disk.items() if k not in ("model_name", "metric"))
    client = MlflowClient(untrained.tracking.uri)
    tags = client.get_model_version("tiny", "2").tags
    assert float(tags["dlforge.gate.ci_low"]) == on_disk["ci_low"] and tags["dlforge.gate.promoted"] == "true"

    record = register.run(tiny("trainer.max_epochs=8"))  # the same model again: no gain, no promotion
    assert not record["promoted"] and record["champion_version"] == 2 and record["ci_low"] <= 0
    assert int(client.get_model_version_by_alias("tiny", "champion").version) == 2
    moves = [(m["alias"], m["version"], m["kind"]) for m in aliases.history(client, "tiny")]
    assert moves == [
        ("challenger", 1, "gate"),
        ("champion", 1, "gate"),
        ("challenger", 2, "gate"),
        ("champion", 2, "gate"),
        ("challenger", 3, "gate"),
    ]
