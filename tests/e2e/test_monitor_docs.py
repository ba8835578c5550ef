"""docs/monitoring.md's commands, line by line, in a fresh copy of the repository: each exits as its `# exit N` says.

The loop (four stages → monitor ok → a shifted batch → retrain → monitor ok) and the threshold override
run as a user types them: real stages, the real `dlforge` console script, the default SQLite store.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import ROOT, copy_repo, empty_mlflow_db, sh

pytestmark = pytest.mark.e2e
DOC = ROOT / "docs" / "monitoring.md"


def commands(text: str) -> list[tuple[str, int]]:
    """(command, expected exit code) for every line of the doc's ```bash blocks."""
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    found = []
    for line in (ln for block in blocks for ln in block.splitlines() if ln.strip()):
        code = re.search(r"#\s*exit\s+(\d+)\s*$", line)
        found.append((line, int(code.group(1)) if code else 0))
    return found


def test_the_documented_loop_runs_as_written(tmp_path: Path):
    repo = copy_repo(tmp_path)
    empty_mlflow_db(repo / "mlflow.db")
    steps = commands(DOC.read_text())
    assert sum("dlforge monitor" in c for c, _ in steps) >= 4 and {3, 4} & {e for _, e in steps}
    for command, expected in steps:
        result = sh(["bash", "-c", command], repo, timeout=900, check=False)
        assert result.returncode == expected, (
            f"{command}\n→ {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
        if command.startswith("dlforge monitor"):
            assert len(result.stdout.strip().splitlines()) == 1  # one verdict line
    assert (repo / "reports" / "byo_tabular" / "monitor" / "next_season" / "report.md").is_file()
    assert "flipper_length_mm" in (repo / "dvc_plots" / "index.html").read_text()
