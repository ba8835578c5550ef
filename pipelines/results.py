"""The README's results table from reports/*/metrics.json and registry.json (after `dvc repro`).

`python -m pipelines.results` prints it; `--write README.md` replaces the table between the
`<!-- results -->` and `<!-- /results -->` markers (what `make results` runs).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import yaml


def table(root: Path = Path(".")) -> str:
    """One row per use case: the gate metric of the deep model beside every baseline, best first, and the champion.

    Entries named `floor_*` (e.g. real images scored as if generated) are references, not baselines: left out.
    """
    use_cases = yaml.safe_load((root / "dvc.yaml").read_text())["vars"][0]["use_cases"]
    rows = [
        "| use case | model | gate metric | deep model | best baseline | other baselines | champion |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, groups in use_cases.items():
        reports = root / "reports" / name
        metrics = json.loads((reports / "metrics.json").read_text())
        registry = json.loads((reports / "registry.json").read_text())
        metric, higher = registry["metric"], registry.get("higher_is_better", True)
        baselines = sorted((m[metric], b) for b, m in metrics.items() if b != "model" and not b.startswith("floor_"))
        if higher:
            baselines.reverse()
        (best, best_name), others = baselines[0], baselines[1:]
        model = metrics["model"][metric]
        verdict = "✓" if (model >= best if higher else model <= best) else "✗"
        rest = ", ".join(f"{b} {v:.4f}" for v, b in others) or "–"
        rows.append(
            f"| {name} | {groups['model']} | {metric} ({'↑' if higher else '↓'}) | {model:.4f} {verdict} | {best_name} {best:.4f} | {rest} | v{registry['champion_version']} |"
        )
    return "\n".join(rows)


def write(readme: Path, text: str) -> None:
    """Replace the table between the markers; the rest of the file is left as it is."""
    body = readme.read_text()
    new, n = re.subn(r"(<!-- results -->\n).*?(\n<!-- /results -->)", lambda m: m[1] + text + m[2], body, flags=re.S)
    if n != 1:
        raise SystemExit(f"error: {readme}: expected one '<!-- results -->' ... '<!-- /results -->' block, found {n}")
    readme.write_text(new)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write", type=Path, metavar="README", help="replace the table in this file instead of printing it"
    )
    args = parser.parse_args()
    if args.write:
        write(args.write, table())
    else:
        print(table())
