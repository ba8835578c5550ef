"""Data layer on tiny in-memory frames: validation messages, splits, preprocessing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlforge.data.preprocess import ImagePreprocessor, TabularPreprocessor, from_state
from dlforge.data.specs import ImageClassification, TabularClassification
from dlforge.data.split import random_split
from dlforge.errors import UserError


def _spec(df: pd.DataFrame) -> TabularClassification:
    return TabularClassification(
        lambda: df, target="y", classes=["no", "yes"], numeric=["a"], categorical=["c"], name="data 't'"
    )


def _frame(n: int = 20) -> pd.DataFrame:
    return pd.DataFrame(
        {"a": np.arange(n, dtype=float), "c": ["u", "v"] * (n // 2), "y": ["no", "yes", "no", "no"] * (n // 4)}
    )


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.drop(columns="a"), "missing column 'a'"),
        (lambda d: d.assign(a=d.a.where(d.index != 7)), "column 'a' row 7: missing value"),
        (
            lambda d: d.assign(a=d.a.astype(object).where(d.index != 3, "oops")),
            "column 'a' row 3: expected a number, got 'oops'",
        ),
        (
            lambda d: d.assign(y=d.y.where(d.index != 5, "maybe")),
            "column 'y' row 5: value 'maybe' is not one of ['no', 'yes']",
        ),
    ],
)
def test_validation_names_column_and_row(mutate, message):
    df = mutate(_frame())
    with pytest.raises(UserError) as e:
        _spec(df).validate(df)
    assert message in str(e.value)
    assert str(e.value).startswith("data 't'")
    assert "\n" not in str(e.value)


def test_image_validation_rejects_out_of_range_pixels():
    df = pd.DataFrame(np.zeros((4, 4)), columns=[f"p{i}" for i in range(4)]).assign(label=[0, 1, 0, 1])
    df.loc[2, "p3"] = 17
    spec = ImageClassification(lambda: df, target="label", classes=[0, 1], shape=[2, 2], max_value=16)
    with pytest.raises(UserError, match=r"column 'p3' row 2: value 17.0 outside \[0.0, 16.0\]"):
        spec.validate(df)


def test_split_is_deterministic_stratified_and_disjoint():
    labels = np.array([0] * 900 + [1] * 100)
    a = random_split(len(labels), 0.15, 0.15, seed=1, strata=labels)
    b = random_split(len(labels), 0.15, 0.15, seed=1, strata=labels)
    c = random_split(len(labels), 0.15, 0.15, seed=2, strata=labels)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["test"], c["test"])
    assert sorted(np.concatenate(list(a.values())).tolist()) == list(range(1000))
    assert {k: len(v) for k, v in a.items()} == {"train": 700, "val": 150, "test": 150}
    for idx in a.values():  # 10 % positives in every split
        assert labels[idx].mean() == pytest.approx(0.1, abs=0.01)


def test_split_rejects_bad_fractions():
    with pytest.raises(UserError, match="config key 'split'"):
        random_split(10, 0.6, 0.5, seed=0)


def test_tabular_preprocessing_uses_train_statistics_only():
    train = pd.DataFrame({"a": [0.0, 2.0, 4.0], "c": ["u", "v", "u"]})
    pre = TabularPreprocessor.fit(train, ["a"], ["c"], ["no", "yes"])
    assert pre.numeric["a"] == pytest.approx([2.0, np.std([0, 2, 4])])
    other = pd.DataFrame({"a": [100.0], "c": ["v"]})
    x = from_state(pre.to_state()).transform(other)  # round-trips through JSON state
    assert x.dtype == np.float32 and x.shape == (1, 3)
    assert x[0].tolist() == pytest.approx([(100 - 2) / np.std([0, 2, 4]), 0.0, 1.0])


def test_tabular_transform_rejects_unknown_category_and_missing_column():
    pre = TabularPreprocessor.fit(pd.DataFrame({"a": [1.0, 2.0], "c": ["u", "v"]}), ["a"], ["c"], [0, 1])
    with pytest.raises(UserError, match="column 'c' row 1: unknown category 'w'"):
        pre.transform(pd.DataFrame({"a": [1.0, 2.0], "c": ["u", "w"]}))
    with pytest.raises(UserError, match="missing column 'c'"):
        pre.transform(pd.DataFrame({"a": [1.0]}))


def test_image_preprocessing_accepts_grids_or_flat_rows_and_rejects_wrong_shapes():
    imgs = np.random.default_rng(0).integers(0, 17, size=(10, 8, 8)).astype(float)
    pre = ImagePreprocessor.fit(imgs, [8, 8], 16, list(range(10)))
    grid, flat = pre.transform(imgs), pre.transform(imgs.reshape(10, 64))
    assert grid.shape == (10, 1, 8, 8) and np.array_equal(grid, flat)
    assert abs(float(grid.mean())) < 1e-5
    with pytest.raises(UserError, match=r"expected images of shape \(n, 8, 8\) or \(n, 64\), got \(2, 7, 7\)"):
        pre.transform(np.zeros((2, 7, 7)))
