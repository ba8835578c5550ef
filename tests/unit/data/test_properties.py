"""Property-based tests (hypothesis): data validation names the right place; preprocessing round-trips.

What prepare fits is stored as JSON and rebuilt by the served model: for any data, the rebuilt
preprocessor must transform raw inputs exactly as the fitted one did (bit for bit), and integer
inputs must give what their float values give (the cast the served model makes).
"""

from __future__ import annotations

import json
import string

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlforge.data import validate
from dlforge.data.families.ngram_text import NgramTextPreprocessor
from dlforge.data.families.tabular_classification import TabularPreprocessor
from dlforge.data.families.text_classification import TextPreprocessor
from dlforge.data.families.timeseries import TimeSeriesPreprocessor
from dlforge.data.preprocess import from_state
from dlforge.errors import UserError

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


def rebuilt(pre):
    """The preprocessor as the served model gets it: state → JSON text → state → object."""
    return from_state(json.loads(json.dumps(pre.to_state())))


@FAST
@given(st.lists(finite, min_size=1, max_size=30), st.data())
def test_numeric_names_the_first_bad_row(values, data):
    df = pd.DataFrame({"a": pd.Series(values, dtype=object)})
    validate.numeric(df, ["a"], "t")  # finite numbers pass
    row = data.draw(st.integers(0, len(values) - 1))
    bad = data.draw(st.sampled_from(["x", "1,5", "inf", float("inf"), float("-inf")]))
    df.loc[row, "a"] = bad
    with pytest.raises(UserError) as e:
        validate.numeric(df, ["a"], "t")
    assert f"column 'a' row {row}" in str(e.value) and "\n" not in str(e.value)


@FAST
@given(
    st.lists(
        st.tuples(st.text(string.ascii_letters + ' ,\n"', max_size=12), st.integers(0, 99), st.booleans()),
        min_size=1,
        max_size=12,
    ),
    st.data(),
)
def test_file_line_is_the_line_an_editor_shows(tmp_path_factory, rows, data):
    """Quoted line breaks and blank lines included: line n of the file starts data row `row`."""
    path = tmp_path_factory.mktemp("lines") / "t.csv"
    lines, starts = ["text,n"], []
    for text, n, blank_before in rows:
        if blank_before:
            lines.append("")
        starts.append(sum(line.count("\n") + 1 for line in lines) + 1)  # physical lines so far, + 1
        lines.append('"' + text.replace('"', '""') + f'",{n}')
    path.write_text("\n".join(lines) + "\n")
    df = pd.read_csv(path)
    assert len(df) == len(rows)
    row = data.draw(st.integers(0, len(rows) - 1))
    assert validate.file_line(str(path), row) == starts[row]


tables = st.integers(3, 40).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(-1000, 1000), min_size=n, max_size=n),
        st.lists(finite, min_size=n, max_size=n),
        st.lists(st.sampled_from(["a", "b", "c", "ü", "1"]), min_size=n, max_size=n),
    )
)


@FAST
@given(tables, st.sampled_from(["error", "ignore"]))
def test_tabular_round_trip_and_integer_cast(table, unknown):
    ints, floats, cats = table
    df = pd.DataFrame({"i": ints, "f": floats, "c": cats})
    pre = TabularPreprocessor.fit(df.astype({"i": float}), ["i", "f"], ["c"], ["no", "yes"], unknown)
    x = pre.transform(df.astype({"i": float}))
    assert np.array_equal(rebuilt(pre).transform(df.astype({"i": float})), x)
    assert np.array_equal(rebuilt(pre).transform(df), x)  # integer column: same as its float values
    assert np.isfinite(x).all() and x.shape == (len(df), 2 + len(set(cats)))
    assert np.array_equal(x[:, 2:].sum(axis=1), np.ones(len(df)))  # one-hot: one category each


@FAST
@given(st.lists(st.text(string.ascii_letters + " !?'<>", min_size=1, max_size=40).filter(str.strip), min_size=2))
def test_text_round_trip(texts):
    pre = TextPreprocessor.fit(texts, "text", max_len=8, min_freq=1, max_vocab=50, classes=["n", "p"])
    frame = pd.DataFrame({"text": texts})
    assert np.array_equal(rebuilt(pre).transform(frame), pre.transform(frame))
    assert np.array_equal(pre.transform(texts), pre.transform(frame))  # a plain list reads the same


@FAST
@given(
    st.lists(st.text(string.ascii_letters[:6] + " !?'<>", min_size=1, max_size=40).filter(str.strip), min_size=2),
    st.integers(1, 3),
)
def test_ngram_text_round_trip(texts, n):
    pre = NgramTextPreprocessor.fit(texts, "text", max_len=8, min_freq=1, max_vocab=50, classes=["n", "p"], ngrams=n)
    frame = pd.DataFrame({"text": texts})
    again = rebuilt(pre)
    assert type(again) is NgramTextPreprocessor and again.ngrams == n
    assert np.array_equal(again.transform(frame), pre.transform(frame))
    assert np.array_equal(pre.transform(texts), pre.transform(frame))  # a plain list reads the same
    for row in pre.transform(texts):  # each n-gram once per text
        ids = row[row != 0]
        assert len(ids) == len(set(ids.tolist()))


@FAST
@given(st.lists(finite, min_size=8, max_size=60), st.integers(1, 6))
def test_timeseries_round_trip(values, window):
    series = np.asarray(values)
    pre = TimeSeriesPreprocessor.fit(series, window, 1)
    windows = np.lib.stride_tricks.sliding_window_view(series, window)
    assert np.array_equal(rebuilt(pre).transform(windows), pre.transform(windows))
    back = pre.inverse_target(pre.transform_target(series))
    assert np.allclose(back, series, rtol=1e-5, atol=1e-3 * (1 + np.abs(series).max()))
