"""Data layer on tiny in-memory frames: validation messages, splits, preprocessing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlforge.data.families.image_classification import ImageClassification, ImagePreprocessor
from dlforge.data.families.tabular_classification import TabularClassification, TabularPreprocessor
from dlforge.data.preprocess import from_state
from dlforge.data.split import random_split
from dlforge.errors import UserError


def _spec(df: pd.DataFrame, **options) -> TabularClassification:
    return TabularClassification(
        lambda: df, target="y", classes=["no", "yes"], numeric=["a"], categorical=["c"], name="data 't'", **options
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
        _spec(df, missing="refuse").validate(df)
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
    pre = TabularPreprocessor.fit(pd.DataFrame({"a": [1.0, 2.0], "c": ["u", "v"]}), ["a"], ["c"], [0, 1], "refuse")
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


def test_gaps_are_imputed_with_train_medians_an_indicator_and_a_missing_level():
    train = pd.DataFrame({"a": [1.0, np.nan, 3.0, 5.0], "b": [2.0, 4.0, 6.0, 8.0], "c": ["u", None, "u", "v"]})
    pre = from_state(TabularPreprocessor.fit(train, ["a", "b"], ["c"], [0, 1]).to_state())
    assert pre.fill["a"] == 3.0 and "a.missing" in pre.numeric and "b.missing" not in pre.numeric  # b had no gaps
    assert pre.categorical["c"] == ["<missing>", "u", "v"]
    gaps = pd.DataFrame({"a": [None, np.nan], "b": [np.nan, 4.0], "c": [None, np.nan]})  # None and NaN alike
    x = pre.transform(gaps)
    col = {f: i for i, f in enumerate(pre.numeric)}
    a, a_gap = pre.numeric["a"], pre.numeric["a.missing"]
    assert x[0][col["a"]] == pytest.approx((3.0 - a[0]) / a[1]) == x[1][col["a"]]  # the train median, 3
    assert x[0][col["a.missing"]] == pytest.approx((1 - a_gap[0]) / a_gap[1])
    assert x[0][col["b"]] == pytest.approx(0.0) and x[1][col["b"]] < 0  # b's median is its mean, 5
    assert x[0][-3:].tolist() == [1.0, 0.0, 0.0]  # the <missing> level
    assert pre.counts == {"imputed": {"a": 2, "b": 1, "c": 2}, "unseen": {}}


def test_missing_refuse_keeps_refusing_gaps_in_requests():
    pre = from_state(
        TabularPreprocessor.fit(
            pd.DataFrame({"a": [1.0, 2.0], "c": ["u", "v"]}), ["a"], ["c"], [0, 1], missing="refuse"
        ).to_state()
    )
    with pytest.raises(UserError, match="input: column 'c' row 1: missing value"):
        pre.transform(pd.DataFrame({"a": [1.0, 2.0], "c": ["u", None]}))


def test_rare_train_values_and_unseen_values_share_other():
    train = pd.DataFrame({"c": ["a"] * 5 + ["b"] * 5 + ["r1", "r2", "r3"]})
    pre = from_state(TabularPreprocessor.fit(train, [], ["c"], [0, 1], min_rows=5).to_state())
    assert pre.categorical["c"] == ["a", "b", "<other>"] and pre.rare["c"] == ["r1", "r2", "r3"]
    x = pre.transform(pd.DataFrame({"c": ["a", "r2", "never", "b"]}))
    assert x.tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 1], [0, 1, 0]]
    assert pre.counts["unseen"] == {"c": 1}  # r2 was seen in train (rare), `never` was not
    strict = from_state({**pre.to_state(), "unknown": "refuse"})
    assert strict.transform(pd.DataFrame({"c": ["r3"]})).tolist() == [[0, 0, 1]]
    with pytest.raises(UserError, match=r"row 1: unknown category 'never' \(known: \['a', 'b'\]\)"):
        strict.transform(pd.DataFrame({"c": ["a", "never"]}))


def test_integer_codes_and_booleans_are_the_same_category_however_they_arrive():
    train = pd.DataFrame({"area": [415, 408] * 3, "flag": [True, False] * 3, "on": [True, False, True] * 2})
    pre = from_state(TabularPreprocessor.fit(train, ["on"], ["area", "flag"], [0, 1], min_rows=1).to_state())
    assert pre.categorical == {"area": ["408", "415"], "flag": ["False", "True"]}
    ways = pd.DataFrame({"area": [415, 415.0, "415"], "flag": [True, np.True_, "True"], "on": [True, 1, 1.0]})
    x = pre.transform(ways)
    assert (x == x[0]).all() and pre.counts == {"imputed": {}, "unseen": {}}


def test_dates_expand_into_documented_features_and_bad_dates_are_refused():
    train = pd.DataFrame({"d": ["2024-01-01", "2024-03-02T10:30:00", None, "2023-12-31"]})
    pre = from_state(TabularPreprocessor.fit(train, [], [], [0, 1], datetime=["d"]).to_state())
    parts = ["d.year", "d.month", "d.day", "d.weekday", "d.hour"]
    assert sorted(pre.numeric) == sorted([*parts, "d.missing"]) and pre.columns == ["d"]
    x = pre.transform(pd.DataFrame({"d": ["2024-03-02T10:30:00"]}))[0]
    raw = {"d.year": 2024, "d.month": 3, "d.day": 2, "d.weekday": 5, "d.hour": 10, "d.missing": 0}
    expected = [(raw[f] - m) / s for f, (m, s) in pre.numeric.items()]
    assert x.tolist() == pytest.approx(expected, rel=1e-5)
    with pytest.raises(UserError, match=r"row 0: expected a date/time like 2024-03-01.*got '03/02/2024'"):
        pre.transform(pd.DataFrame({"d": ["03/02/2024"]}))


def test_a_date_in_a_numeric_column_is_refused_with_a_hint():
    df = _frame().assign(a=lambda d: d.a.astype(object).where(d.index != 4, "2024-01-05"))
    with pytest.raises(UserError, match=r"row 4: expected a number, got '2024-01-05'; a date/time: declare"):
        _spec(df).validate(df)


def test_old_unknown_category_names_still_load_and_configure():
    old = {"class": "dlforge:TabularPreprocessor", "numeric": {"a": [0.0, 1.0]}, "categorical": {"c": ["u"]}}
    assert (
        from_state({**old, "classes": [0, 1], "unknown": "ignore"}).unknown,
        from_state({**old, "classes": [0, 1], "unknown": "error"}).unknown,
    ) == ("other", "refuse")
    ignore = from_state({**old, "classes": [0, 1], "unknown": "ignore"})  # stored before <other>: all zeros, as then
    assert ignore.transform(pd.DataFrame({"a": [1.0], "c": ["w"]})).tolist() == [[1.0, 0.0]]
    with pytest.raises(UserError, match="input: column 'a' row 0: missing value"):  # stored models refused gaps
        ignore.transform(pd.DataFrame({"a": [None], "c": ["u"]}))
    with pytest.raises(
        UserError, match=r"'data.unknown_categories': expected one of \['other', 'refuse'\], got 'skip'"
    ):
        _spec(_frame(), unknown_categories="skip")


def test_a_wide_category_list_is_cut_to_a_few_values_in_one_short_line():
    train = pd.DataFrame({"agent": [f"agent_{k:03d}_{'x' * 30}" for k in range(300)]})
    pre = TabularPreprocessor.fit(train, [], ["agent"], [0, 1], unknown="refuse")
    with pytest.raises(UserError) as e:
        pre.transform(pd.DataFrame({"agent": ["agent_000_" + "x" * 30, "someone new " * 20]}))
    message = str(e.value)
    assert message.startswith("input: column 'agent' row 1: unknown category 'someone new someone new some…")
    assert message.endswith(", … and 295 more])") and len(message) < 300, message


def test_prepare_report_reads_as_one_line_metrics_and_a_card_section():
    from dlforge.data import report

    fitted = {"missing": "impute", "unknown_categories": "other", "min_category_rows": 5, "datetime": {"d": []}}
    fitted["rare"] = {"agent": {"levels": 9, "rows": 20}}
    imputed = {"train": {"tenure": 7, "plan": 2}, "val": {"tenure": 1}, "test": {}}
    found = report.build(fitted, imputed, {"train": {}, "val": {"agent": 3}, "test": {"agent 2": 1}})
    assert report.summary(found) == (
        "imputed: plan 2, tenure 8; <other>: agent 9 rare levels (20 train rows); "
        "unseen in val/test: agent 3, agent 2 1; dates expanded: d"
    )
    assert report.metrics(found) == {
        "prepare_imputed": 10.0,
        "prepare_unseen_categories": 4.0,
        "prepare_imputed/tenure": 8.0,
        "prepare_imputed/plan": 2.0,
        "prepare_unseen_categories/agent": 3.0,
        "prepare_unseen_categories/agent 2": 1.0,
        "prepare_rare_levels/agent": 9.0,
    }
    assert report.card_lines(found)[1] == f"- {report.summary(found)}" and report.build({}, imputed, {}) == {}
