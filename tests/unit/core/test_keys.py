"""MLflow tag keys and alias names live in dlforge.keys alone: no `"dlforge.…"` tag or alias literal elsewhere."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from conftest import ROOT
from dlforge import keys as K

HOMES = {ROOT / "src/dlforge/keys.py", ROOT / "src/dlforge/class_names.py"}  # tags and aliases; stable class names
ALIASES = {K.CHAMPION, K.CHALLENGER}


def _is_module_path(text: str) -> bool:
    """`dlforge.cli.predict` names code (an import, a logger, `python -m`), not a tag."""
    parts = text.split(".")
    return all(parts) and importlib.util.find_spec(".".join(parts[:2])) is not None


def offending_literals(path: Path) -> list[str]:
    """`file.py:line: 'literal'` for each tag-like or alias string constant in a Python file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        text = node.value
        if (text.startswith(K.PREFIX) and not _is_module_path(text)) or text in ALIASES:
            found.append(f"{path.name}:{node.lineno}: {text!r}")
    return found


def test_tag_and_alias_literals_only_in_keys():
    files = [p for d in ("src", "pipelines", "tools") for p in sorted((ROOT / d).rglob("*.py")) if p not in HOMES]
    assert files
    assert [hit for f in files for hit in offending_literals(f)] == []


def test_the_check_finds_a_literal(tmp_path):
    bad = tmp_path / "probe.py"
    bad.write_text('TAGS = {"dlforge.study": 1}\nALIAS = "champion"\nOK = "dlforge.cli.predict"\n')
    hits = offending_literals(bad)
    assert sorted(h.split(": ", 1)[1] for h in hits) == ["'champion'", "'dlforge.study'"]
