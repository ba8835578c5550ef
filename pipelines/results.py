"""The README's results table from reports/*/metrics.json and registry.json (after `dvc repro`).

`python -m pipelines.results` prints it; `--write README.md` replaces the table between the
`<!-- results -->` and `<!-- /results -->` markers (what `make results` runs).

With docs/seeds.json (`make seeds`, pipelines.seeds) each row also shows the deep model and its best
baseline as mean ± sd over the seeds, and ✓ marks a deep model only when it beat that baseline on
every seed (✗ otherwise, with the count); without a seed run for a use case it shows `?`: one seed
is not evidence. The single-seed figures are the pipeline's (seed 42, what the champion is).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from dlforge import keys as K
from dlforge.tasks.directions import higher_is_better
from pipelines.dvc_sync import declared_use_cases


def _spread(s: dict | None) -> tuple[str, str]:
    """(the seeds column, the verdict) for one use case's entry of docs/seeds.json."""
    if s is None:
        return "– (make seeds)", "?"
    n = len(s["seeds"])
    column = (
        f"{s['model']['mean']:.4f} ± {s['model']['sd']:.4f} vs {s['best_baseline']} "
        f"{s['baseline']['mean']:.4f} ± {s['baseline']['sd']:.4f}"
    )
    return column, f"{'✓' if s['beats_on_every_seed'] else '✗'} {s['wins']}/{n}"


def table(root: Path = Path(".")) -> str:
    """One row per use case: the gate metric of the deep model beside every baseline, best first, and the champion.

    Entries named `floor_*` (e.g. real images scored as if generated) are references, not baselines: left out.
    """
    use_cases = declared_use_cases(root)
    seeds_file = root / "docs" / "seeds.json"
    seeds = json.loads(seeds_file.read_text())["use_cases"] if seeds_file.exists() else {}
    rows = [
        "| use case | model | gate metric | deep model | best baseline | other baselines | over seeds (mean ± sd) | beats baseline on every seed | champion |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, groups in use_cases.items():
        reports = root / "reports" / name
        metrics = json.loads((reports / "metrics.json").read_text())
        registry = json.loads((reports / "registry.json").read_text())
        metric = registry["metric"]
        higher = higher_is_better(metric)
        baselines = sorted((m[metric], b) for b, m in metrics.items() if b != "model" and not b.startswith(K.FLOOR))
        if higher:
            baselines.reverse()
        (best, best_name), others = baselines[0], baselines[1:]
        model = metrics["model"][metric]
        spread, verdict = _spread(seeds.get(name))
        rest = ", ".join(f"{b} {v:.4f}" for v, b in others) or "–"
        rows.append(
            f"| {name} | {groups['model']} | {metric} ({'↑' if higher else '↓'}) | {model:.4f} | {best_name} {best:.4f} | {rest} | {spread} | {verdict} | v{registry['champion_version']} |"
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
