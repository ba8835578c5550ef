"""Config mistakes fail through the real entry points before any data is read, in one line.

The catalogue runs each stage's `main()` in this process with argv as a user types it (conftest.run_stage);
one case and the traceback request run as real `python -m pipelines.<stage>` processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_entry, run_stage


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
            "prepare",
            ["experiment=byo_tabular", "data.missing=drop"],
            "config key 'data.missing': expected one of ['impute', 'refuse'], got 'drop'",
        ),
        (
            "prepare",
            ["experiment=byo_tabular", "data.min_category_rows=0"],
            "config key 'data.min_category_rows': expected an integer >= 1, got 0",
        ),
        (
            "prepare",
            ["experiment=byo_tabular", "data.unknown_categories=skip"],
            "config key 'data.unknown_categories': expected one of ['other', 'refuse'], got 'skip'",
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
    tmp_path: Path, capsys, stage: str, overrides: list[str], expected: str
):
    code, lines = run_stage(stage, [*overrides, *_outputs(tmp_path)], capsys)
    assert code == 2, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and expected in lines[0], lines[0]
    assert list(tmp_path.iterdir()) == []


def _outputs(tmp_path: Path) -> list[str]:
    return [
        f"paths.prepared={tmp_path}/p",
        f"paths.models={tmp_path}/m",
        f"paths.reports={tmp_path}/r",
        f"tracking.uri=sqlite:///{tmp_path}/db",
    ]


def test_the_console_entry_prints_the_same_one_line(tmp_path: Path):
    result = run_entry("train", "experiment=credit_default", "trainer.max_epochs=ten", *_outputs(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: config key 'trainer.max_epochs': expected int or None, got str 'ten'"), (
        result.stderr
    )
    assert list(tmp_path.iterdir()) == []


def test_full_traceback_on_request(tmp_path: Path):
    result = run_entry("prepare", "experiment=credit_default", "seed=abc", env={"HYDRA_FULL_ERROR": "1"})
    assert result.returncode != 0
    assert "Traceback" in result.stderr
