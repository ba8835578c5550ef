"""Config mistakes fail through the real entry points before any data is read, in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_entry


@pytest.mark.parametrize(
    "stage, overrides, expected",
    [
        ("prepare", ["experiment=credit_default", "data=nope"], "Could not find 'data/nope'"),
        ("prepare", ["experiment=nope"], "Could not find 'experiment/nope'"),
        (
            "prepare",
            ["experiment=credit_default", "seed=abc"],
            "Value 'abc' of type 'str' could not be converted to Integer",
        ),
        ("prepare", ["data=credit_default", "model=mlp", "task=classification"], "Missing mandatory value: name"),
        (
            "prepare",
            ["experiment=credit_default", "data.target=123"],
            "config key 'data.target': expected str, got int 123",
        ),
        (
            "train",
            ["experiment=credit_default", "trainer.max_epochs=ten"],
            "config key 'trainer.max_epochs': expected int or None, got str 'ten'",
        ),
        (
            "train",
            ["experiment=credit_default", "+model.net.widths=[3]"],
            "config key 'model.net.widths': dlforge.models.nets.wide_deep.WideDeep has no argument 'widths'",
        ),
        (
            "register",
            ["experiment=digits", "register.gate.metric=???"],
            "config key 'register.gate.metric' is required",
        ),
    ],
)
def test_bad_config_is_one_line_error_and_nothing_written(
    tmp_path: Path, stage: str, overrides: list[str], expected: str
):
    outs = [
        f"paths.prepared={tmp_path}/p",
        f"paths.models={tmp_path}/m",
        f"paths.reports={tmp_path}/r",
        f"tracking.uri=sqlite:///{tmp_path}/db",
    ]
    result = run_entry(stage, *overrides, *outs)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and expected in lines[0], lines[0]
    assert list(tmp_path.iterdir()) == []


def test_full_traceback_on_request(tmp_path: Path):
    result = run_entry("prepare", "experiment=credit_default", "seed=abc", env={"HYDRA_FULL_ERROR": "1"})
    assert result.returncode != 0
    assert "Traceback" in result.stderr
