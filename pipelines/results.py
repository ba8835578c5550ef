"""Print the README's results table from reports/*/metrics.json and registry.json (after `dvc repro`)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml


def table(root: Path = Path(".")) -> str:
    """One row per use case: its gate metric for the deep model and the baseline, and the champion."""
    use_cases = yaml.safe_load((root / "dvc.yaml").read_text())["vars"][0]["use_cases"]
    rows = ["| use case | model | gate metric | deep model | baseline | champion |", "|---|---|---|---|---|---|"]
    for name, groups in use_cases.items():
        reports = root / "reports" / name
        metrics = json.loads((reports / "metrics.json").read_text())
        registry = json.loads((reports / "registry.json").read_text())
        metric = registry["metric"]
        model, baseline = metrics["model"][metric], metrics["baseline"][metric]
        rows.append(f"| {name} | {groups['model']} | {metric} | {model:.4f} | {baseline:.4f} | v{registry['champion_version']} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
