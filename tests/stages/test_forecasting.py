"""Forecasting end to end (sunspots and the bring-your-own CSV) through the real stages, plus its data rules."""

from __future__ import annotations

import json
import re

import mlflow
import numpy as np
import pandas as pd
import pytest
import torch

from conftest import ROOT
from dlforge.data.families.timeseries import TimeSeries, TimeSeriesPreprocessor, lag_columns
from dlforge.errors import UserError
from pipelines import evaluate, prepare, register, train

BYO_CSV = ROOT / "examples/byo/timeseries.csv"


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """What the experiments' train.threads=1 does for the entry points: a small RNN on a shared CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def spec(df: pd.DataFrame, **kw) -> TimeSeries:
    return TimeSeries(lambda: df, time="date", value="value", window=kw.pop("window", 5), name="data 'ts'", **kw)


def test_split_is_chronological_and_scaling_sees_only_the_train_span():
    df = pd.read_csv(BYO_CSV)
    s = spec(df.sample(frac=1, random_state=0))  # rows in any order: load sorts them by date
    rows = s.load()
    s.validate(rows)
    idx = s.split(rows, 0.15, 0.15, seed=0)
    assert idx["train"].max() < idx["val"].min() and idx["val"].max() < idx["test"].min()
    assert idx["train"].min() == 5 and idx["test"].max() == len(df) - 1  # train targets all have a full window
    series = df["value"].to_numpy()  # the file is in date order
    pre = s.fit(rows, idx["train"])
    span = series[: idx["train"].max() + 1]
    assert pre.mean == pytest.approx(span.mean()) and pre.std == pytest.approx(span.std())

    future = df.copy()
    future.loc[idx["val"].min() :, "value"] *= 10  # val/test values must not move the scaling
    assert spec(future).fit(future, idx["train"]).state() == pre.state()

    raw, t = s.examples(rows, idx["val"])
    assert list(raw.columns) == lag_columns(5) and np.array_equal(t, series[idx["val"]])
    first = idx["val"][0]
    assert np.array_equal(
        raw.iloc[0].to_numpy(), series[first - 5 : first]
    )  # past values only, reaching back into train
    h2 = spec(df, horizon=2)
    raw2, _ = h2.examples(rows, idx["test"])
    assert raw2.iloc[0, -1] == series[idx["test"][0] - 2]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d.assign(date=d["date"].where(d.index != 9, d.loc[8, "date"])),
            "column 'date' row 9: duplicate timestamp ('2004-09-01')",
        ),
        (
            lambda d: d.assign(date=d["date"].where(d.index != 12, "2005-13-45")),
            "column 'date' row 12: cannot parse timestamp ('2005-13-45')",
        ),
        (lambda d: d.assign(value=d["value"].where(d.index != 30)), "column 'value' row 30: missing value (NaN)"),
        (
            lambda d: d.assign(value=d["value"].astype(object).where(d.index != 31, "n/a")),
            "column 'value' row 31: expected a number ('n/a')",
        ),
        (lambda d: d.drop(columns="value"), "missing column 'value'"),
    ],
)
def test_bad_rows_are_named(edit, message):
    s = spec(edit(pd.read_csv(BYO_CSV)))
    with pytest.raises(UserError, match=f"^data 'ts': {re.escape(message)}"):
        s.validate(s.load())


def test_served_windows_are_checked():
    pre = TimeSeriesPreprocessor(window=3, horizon=1, mean=10.0, std=2.0)
    assert pre.transform([[10, 12, 14]]).tolist() == [[[0.0], [1.0], [2.0]]]
    assert pre.transform(pd.DataFrame({"lag_1": [14.0], "lag_3": [10.0], "lag_2": [12.0]}))[0, :, 0].tolist() == [
        0.0,
        1.0,
        2.0,
    ]  # by name
    for raw, message in [
        ([[1.0, 2.0]], "expected 3 past values per row"),
        ([[1.0, 2.0, 3.0], [1.0, np.nan, 3.0]], "column 'lag_2' row 1: missing value"),
        ([[1.0, 2.0, "x"]], "column 'lag_1' row 0: expected a number, got 'x'"),
        (np.zeros((2, 3, 1)), r"expected rows of 3 past values \(n, 3\)"),
    ]:
        with pytest.raises(UserError, match=message):
            pre.transform(raw)


def run_all(cfg) -> dict:
    prepare.run(cfg)
    train.run(cfg)
    metrics = evaluate.run(cfg)
    return {"metrics": metrics, "record": register.run(cfg)}


@pytest.mark.slow  # trains sunspots twice; the bring-your-own CSV below is the quick end-to-end one
def test_sunspots_end_to_end_with_lower_is_better_gate(make_cfg, tmp_path, mlflow_db):
    fast = ["experiment=sunspots", "callbacks.progress_bar=null", "trainer.max_epochs=3"]
    untrained = run_all(make_cfg(*fast, "model.optimizer.lr=0.0"))  # v1: a network that never learnt
    assert untrained["record"]["promoted"] and untrained["record"]["version"] == 1
    cfg = make_cfg(*fast)
    train.run(cfg)
    metrics = evaluate.run(cfg)
    assert set(metrics) == {"model", "naive", "seasonal_naive", "linear_ar", "ets", "arima"}
    for name in metrics:
        assert set(metrics[name]) - {"fit_seconds"} == {"mae", "rmse", "mase"}
        assert metrics[name]["rmse"] >= metrics[name]["mae"] > 0
    assert metrics["arima"]["mae"] < metrics["naive"]["mae"] and metrics["ets"]["fit_seconds"] > 0  # statsmodels
    assert 10 < metrics["naive"]["mae"] < 20 and metrics["seasonal_naive"]["mae"] > metrics["naive"]["mae"]
    assert (
        metrics["linear_ar"]["mae"] < metrics["naive"]["mae"]
        and metrics["model"]["mae"] < 1.1 * metrics["naive"]["mae"]
    )
    ratio = metrics["naive"]["mase"] / metrics["naive"]["mae"]
    assert all(m["mase"] == pytest.approx(m["mae"] * ratio, rel=1e-4) for m in metrics.values())  # one train-span scale
    assert metrics["model"]["mae"] < untrained["metrics"]["model"]["mae"]
    assert (tmp_path / "reports/sunspots/plots/forecast.png").stat().st_size > 10_000

    record = register.run(cfg)  # lower MAE wins: the trained v2 replaces the untrained champion
    assert record["promoted"] and record["version"] == 2 and record["champion_version"] == 2
    assert record["gain"] > 0 and record["ci_low"] > 0  # gain = champion MAE - challenger MAE

    mlflow.set_tracking_uri(cfg.tracking.uri)
    model = mlflow.pyfunc.load_model("models:/sunspots@champion")
    test_raw = pd.read_parquet(tmp_path / "data/sunspots/test_raw.parquet")
    out = model.predict(test_raw.to_numpy()[:4])
    assert list(out.columns) == ["forecast"] and len(out) == 4
    expected = json.loads((tmp_path / "reports/sunspots/metrics.json").read_text())
    assert expected["model"]["mae"] == metrics["model"]["mae"]
    assert np.allclose(out["forecast"], model.predict(test_raw.iloc[:4])["forecast"])  # DataFrame or array
    bad = test_raw.to_numpy()[:2].copy()
    bad[1, 5] = np.nan
    with pytest.raises(mlflow.exceptions.MlflowException, match="column 'lag_43' row 1: missing value"):
        model.predict(bad)
    with pytest.raises(mlflow.exceptions.MlflowException, match="shape"):
        model.predict(bad[:, 1:])


def test_bring_your_own_time_series_csv(make_cfg, tmp_path, mlflow_db):
    cfg = make_cfg(
        "experiment=byo_timeseries",
        f"data.source.path={BYO_CSV}",
        "callbacks.progress_bar=null",
        "trainer.max_epochs=3",
    )
    out = run_all(cfg)
    assert out["record"]["promoted"] and out["record"]["champion_version"] == 1
    metrics = out["metrics"]
    assert metrics["linear_ar"]["mase"] < 1 < metrics["seasonal_naive"]["mase"] < 2  # the example series is learnable
    assert json.loads((tmp_path / "data/byo_timeseries/meta.json").read_text())["sizes"] == {
        "train": 144,
        "val": 36,
        "test": 36,
    }

    mlflow.set_tracking_uri(cfg.tracking.uri)
    model = mlflow.pyfunc.load_model("models:/byo_timeseries@champion")
    history = pd.read_csv(BYO_CSV)["value"].to_numpy()
    forecast = model.predict(history[None, -24:])["forecast"].iloc[0]
    assert history[-36:].min() - 20 < forecast < history[-36:].max() + 20  # next month, in natural units
