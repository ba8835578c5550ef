"""The composed config printed as a tree when a stage starts, and `print_config=false` to turn it off."""

from __future__ import annotations

from pathlib import Path

from conftest import run_entry, run_main
from dlforge.config.tree import tree


def test_stage_prints_the_config_tree_first_and_false_turns_it_off(tmp_path: Path, capsys):
    """The real entry point prints the tree; the same `main()` in-process (argv as typed) with it turned off."""
    args = ["experiment=digits", f"paths.prepared={tmp_path}/missing", f"paths.models={tmp_path}/m"]
    shown = run_entry("evaluate", *args)
    assert shown.returncode == 2 and "error: prepared data not found" in shown.stderr  # the stage still ran
    assert "├── paths" in shown.stdout and f"prepared: {tmp_path}/missing" in shown.stdout
    assert "─ task" in shown.stdout and "dlforge.tasks.classification.Classification" in shown.stdout
    code, out, err = run_main("evaluate", [*args, "print_config=false"], capsys)
    assert code == 2 and "├──" not in out and "error: prepared data not found" in err


def test_tree_has_one_branch_per_section_with_values_resolved(make_cfg):
    from rich.console import Console

    console = Console(record=True, width=120)
    console.print(tree(make_cfg("experiment=sunspots")))
    text = console.export_text()
    assert "name: sunspots" in text and "experiment: sunspots" in text  # ${name} resolved in tracking
    for section in ("data", "model", "task", "trainer", "callbacks", "logger", "curves", "paths", "register"):
        assert f"─ {section}" in text, section
