"""MovieLens recommender: per-user time split, ranking metrics by hand, and the four stages end to end."""

from __future__ import annotations

import json
import math

import mlflow
import numpy as np
import pandas as pd
import pytest
from hydra.utils import instantiate
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from dlforge.data import prepared
from dlforge.errors import UserError
from dlforge.tasks.recommendation import Recommendation
from pipelines import evaluate, prepare, register, train

SLICE = [
    "experiment=movielens",
    "data.max_users=40",
    "train.batch_size=256",
    "trainer.max_epochs=4",
    "callbacks.progress_bar=null",
]


def test_split_puts_each_users_test_ratings_after_their_train_ratings(make_cfg):
    spec = instantiate(make_cfg(*SLICE).data, name="data 'movielens'")
    df = spec.load()
    spec.validate(df)
    idx = spec.split(df, 0.15, 0.15, 0)
    assert sorted(np.concatenate(list(idx.values()))) == list(range(len(df)))  # a partition of the rows
    when = {s: df.iloc[i].groupby("user")["time"] for s, i in idx.items()}
    assert (when["train"].max() <= when["val"].min().reindex(when["train"].max().index)).all()
    assert (when["val"].max() <= when["test"].min()).all()
    counts = df.groupby("user").size()
    test_counts = df.iloc[idx["test"]].groupby("user").size()
    assert (test_counts == np.maximum(1, np.round(0.15 * counts))).all()  # the latest 15 % of every user
    short = df[df.user == df.user.iloc[0]].head(3).assign(user=-1)  # a user with 3 ratings stays in train
    idx = spec.split(pd.concat([df, short], ignore_index=True), 0.15, 0.15, 0)
    assert set(range(len(df), len(df) + 3)) <= set(idx["train"])


def test_hit_rate_and_ndcg_on_a_hand_made_ranking():
    task = Recommendation(k=2)
    # user 1: the relevant movie (rated 5) is ranked 2nd; user 2: the relevant one (4) is 2nd of 2;
    # user 3 has no movie rated >= 4, so it is skipped; NaN rows are sampled negatives.
    ref = np.array([[np.nan, 1], [5.0, 1], [3.0, 1], [4.0, 2], [np.nan, 2], [2.0, 3], [np.nan, 3]])
    score = np.array([0.9, 0.8, 0.1, 0.2, 0.5, 0.9, 0.1])
    assert task.metric("hr_at_1", score, ref) == 0.0
    assert task.metric("hr_at_2", score, ref) == 1.0
    assert task.metric("ndcg_at_2", score, ref) == pytest.approx(1 / math.log2(3), abs=1e-6)
    assert task.metric("ndcg_at_1", np.where(np.arange(7) == 1, 2.0, score), ref) == pytest.approx(
        0.5
    )  # user 1 now first
    ratings = np.array([0, 4.0, 3.5, 3.0, 0, 2.0, 0])  # rmse ignores the negatives' rows
    assert task.metric("rmse", ratings, ref) == pytest.approx(math.sqrt((1 + 0.25 + 1 + 0) / 4))
    both = np.stack([ratings, score], 1)  # (rating, ranking score) columns, as most-popular gives
    assert (
        task.metric("rmse", both, ref) == task.metric("rmse", ratings, ref) and task.metric("hr_at_2", both, ref) == 1.0
    )


def test_preprocessor_maps_unknown_ids_to_zero_and_rejects_bad_requests(make_cfg, tmp_path):
    cfg = make_cfg(*SLICE)
    prepare.run(cfg)
    pre = prepared.load(cfg.paths.prepared).preprocessor()
    x = pre.transform(pd.DataFrame({"user": [pre.users[0], 10**9], "movie": [10**9, pre.items[0]]}))
    assert x.tolist() == [[1, 0], [0, 1]]
    with pytest.raises(UserError, match="input: column 'movie' row 1: expected an integer id, got 'x'"):
        pre.transform(pd.DataFrame({"user": [1, 1], "movie": [3, "x"]}))
    with pytest.raises(UserError, match="input: unknown column 'film'"):
        pre.transform(pd.DataFrame({"user": [1], "movie": [3], "film": [3]}))
    assert pre.inverse_target(np.array([-100.0, 100.0])).tolist() == [0.5, 5.0]


@pytest.mark.slow  # trains MovieLens three times
def test_movielens_stages_end_to_end(make_cfg, tmp_path, mlflow_db):
    cfg = make_cfg(*SLICE)
    prepare.run(cfg)
    data = prepared.load(cfg.paths.prepared)
    assert data.meta["net"] == {"n_users": 41, "n_items": len(data.preprocessor().items) + 1}
    first = train.run(make_cfg(*SLICE, "logger=none"))
    assert train.run(cfg) == first  # same seed, same training

    metrics = evaluate.run(cfg)
    assert set(metrics) == {"model", "biases", "most_popular", "als"}
    assert 0.7 < metrics["als"]["rmse"] < 1.2 and metrics["als"]["fit_seconds"] > 0  # biases + factors, λ chosen on val
    assert set(metrics["model"]) == {"rmse", "mae", "hr_at_10", "ndcg_at_10"}
    assert 0.7 < metrics["model"]["rmse"] < 1.2 and 0.7 < metrics["biases"]["rmse"] < 1.2
    assert metrics["most_popular"]["hr_at_10"] > 0.3  # popular movies beat uniformly sampled negatives
    assert {p.name for p in (tmp_path / "reports/movielens/plots").iterdir()} == {"calibration.png", "hit_rate.png"}

    record = register.run(cfg)
    assert record["promoted"] and record["champion_version"] == 1 and record["metric"] == "rmse"
    assert json.loads((tmp_path / "reports/movielens/registry.json").read_text())["higher_is_better"] is False
    assert int(MlflowClient(cfg.tracking.uri).get_model_version_by_alias("movielens", "champion").version) == 1

    mlflow.set_tracking_uri(cfg.tracking.uri)
    model = mlflow.pyfunc.load_model("models:/movielens@champion")
    test = data.raw("test")
    rated = model.predict(test.head(50))
    assert list(rated.columns) == ["user", "movie", "rating"] and rated["rating"].between(0.5, 5.0).all()
    assert rated["rating"].std() > 0.05  # not a constant
    pre = data.preprocessor()
    user = int(test["user"].iloc[0])
    top = model.predict(pd.DataFrame({"user": [user]}))
    assert list(top["rank"]) == list(range(1, 11)) and top["movie"].nunique() == 10
    seen = set(np.asarray(pre.items)[pre.seen_items(pre.user_index(np.array([user]))[0]) - 1].tolist())
    assert len(seen) > 10 and not seen & set(top["movie"])  # nothing the user rated in train
    assert top["rating"].is_monotonic_decreasing and top["title"].str.len().gt(0).all()
    for bad in (
        pd.DataFrame({"userId": [user]}),
        pd.DataFrame({"user": ["abc"]}),
        pd.DataFrame({"user": [user], "movie": [1.5]}),
    ):
        with pytest.raises(MlflowException):
            model.predict(bad)
