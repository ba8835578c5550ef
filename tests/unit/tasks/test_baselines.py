"""The strongest classical baselines' parts: tuning on val, ETS/ARIMA, ALS, the card's plain line, the new nets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from dlforge.errors import UserError
from dlforge.models.nets.cnn import CNN
from dlforge.models.nets.tabm import TabMNet
from dlforge.registry.model_card import better_baselines, metrics_table
from dlforge.tasks import als, statistical
from dlforge.tasks.tuned import Timer, Tuned


def _log_loss(p: np.ndarray, y: np.ndarray) -> float:
    return float(-np.log(p[np.arange(len(y)), y].clip(1e-12)).mean())


def test_tuned_keeps_the_grid_point_best_on_val_fitted_on_train_only():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] + 0.3 * rng.normal(size=400) > 0).astype(int)
    spec = Tuned(LogisticRegression(), {"C": [1e-4, 1.0]})
    fitted = spec.fit((x[:300], y[:300]), (x[300:], y[300:]), lambda f, a: f.predict_proba(a), _log_loss, False)
    assert spec.chosen == {"C": 1.0} and fitted.n_features_in_ == 3
    assert spec.estimator.__dict__.get("coef_") is None  # the configured estimator stays unfitted: clones are fitted


def test_timer_records_each_baseline():
    timer = Timer()
    with timer("a"):
        sum(range(1000))
    assert set(timer.seconds) == {"a"} and timer.seconds["a"] >= 0


def test_arima_and_ets_forecast_one_step_with_train_parameters_and_refuse_longer_horizons():
    rng = np.random.default_rng(0)
    series = np.zeros(400)
    for t in range(1, 400):
        series[t] = 0.8 * series[t - 1] + rng.normal()
    train, val, test = np.arange(1, 280), np.arange(280, 340), np.arange(340, 400)
    naive = np.abs(series[test - 1] - series[test]).mean()
    for method, variants in {"arima": [[1, 0, 0], [0, 1, 0]], "ets": [{"trend": None}]}.items():
        pred, chosen = statistical.one_step(method, variants, series, train, val, 1)
        assert pred.shape == series.shape and chosen in variants
        assert np.abs(pred[test] - series[test]).mean() < 1.05 * naive
    with pytest.raises(UserError, match="task.arima"):
        statistical.one_step("arima", [[1, 0, 0]], series, train, val, 2)


def test_als_fits_low_rank_ratings_better_than_their_mean():
    rng = np.random.default_rng(0)
    p, q = rng.normal(size=(30, 2)), rng.normal(size=(40, 2))
    users, items = rng.integers(0, 30, 900), rng.integers(0, 40, 900)
    r = (p[users] * q[items]).sum(1)
    u, v = als.fit(users, items, r, 30, 40, factors=2, reg=0.1, iterations=15, seed=0)
    assert np.mean((als.predict(u, v, users, items) - r) ** 2) < 0.2 * np.var(r)


def test_card_says_plainly_which_baseline_beat_the_model_and_shows_fit_times():
    metrics = {
        "model": {"accuracy": 0.95},
        "baseline": {"accuracy": 0.90, "fit_seconds": 0.5},
        "rbf_svm": {"accuracy": 0.97, "fit_seconds": 2.0},
        "floor_real": {"accuracy": 0.99},
    }
    lines = better_baselines(metrics, "accuracy", True)
    assert len(lines) == 1 and "rbf_svm scored better than this model on the same test rows" in lines[0]
    assert better_baselines(metrics, "accuracy", False) == [better_baselines(metrics, "accuracy", False)[0]]
    assert metrics_table(metrics)[-1] == "| fit_seconds | – | 0.5 | 2 | – |"


def test_cnn_augments_in_training_only_with_the_same_weights():
    torch.manual_seed(0)
    plain, augmented = CNN([1, 8, 8], 10, [4, 8]), CNN([1, 8, 8], 10, [4, 8], shift=0.2, rotate=10)
    assert plain.state_dict().keys() == augmented.state_dict().keys()  # champions saved without it still load
    augmented.load_state_dict(plain.state_dict())
    x = torch.randn(5, 1, 8, 8)
    plain.eval(), augmented.eval()
    assert torch.equal(plain(x), augmented(x))
    augmented.train()
    assert augmented.augment(x).shape == x.shape and not torch.equal(augmented.augment(x), x)


def test_tabm_outputs_the_mean_of_its_heads():
    torch.manual_seed(0)
    net = TabMNet([6], 3, k=4, d_block=16)
    net.init_from_train(torch.randn(20, 6), torch.tensor([0] * 18 + [1, 2]))
    net.eval()
    probs = net(torch.randn(7, 6)).exp()
    assert probs.shape == (7, 3) and torch.allclose(probs.sum(1), torch.ones(7), atol=1e-5)
    assert TabMNet([6], 1, k=4, d_block=16)(torch.randn(7, 6)).shape == (7, 1)
