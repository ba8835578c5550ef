"""The README's results table from reports/*/metrics.json and registry.json (after `dvc repro`).

`python -m tools.results` prints it; `--write README.md` replaces the table between the
`<!-- results -->` and `<!-- /results -->` markers (what `make results` runs).

With docs/seeds.json (`make seeds`, tools.seeds) each row also shows the deep model and the
strongest classical baseline (best by mean over the seeds) as mean ± sd, and ✓ marks a deep model
only when it beat every baseline on every seed (✗ otherwise, with the count and, where it loses on
the mean, by how much); without a seed run for a use case it shows `?`: one seed is not evidence.
The single-seed figures are the pipeline's (seed 42, what the champion is).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from dlforge import keys as K
from dlforge.tasks.directions import higher_is_better
from dlforge.tasks.tuned import FIT_SECONDS
from tools.dvc_sync import declared_use_cases


def _spread(s: dict | None) -> tuple[str, str, str]:
    """(the deep model over seeds, the strongest classical baseline over seeds, the verdict) for one use
    case's entry of docs/seeds.json."""
    if s is None:
        return "– (make seeds)", "–", "?"
    n = len(s["seeds"])
    model = f"{s['model']['mean']:.4f} ± {s['model']['sd']:.4f}"
    strongest = f"{s['best_baseline']} {s['baseline']['mean']:.4f} ± {s['baseline']['sd']:.4f}"
    if s["beats_on_every_seed"]:
        return model, strongest, f"✓ {s['wins']}/{n}"
    return model, strongest, f"✗ {s['wins']}/{n}, {_loss(s)}"


def _loss(s: dict) -> str:
    """By how much the model loses: on the mean when it does, else on its worst seed (to that seed's best baseline)."""
    sign = 1 if s["higher_is_better"] else -1
    if sign * (s["baseline"]["mean"] - s["model"]["mean"]) > 0:
        return f"loses by {abs(s['baseline']['mean'] - s['model']['mean']):.4f} on the mean"
    columns = [b["values"] for b in s.get("baselines", {"": s["baseline"]}).values()]
    best = max if s["higher_is_better"] else min
    gaps = [  # (how far the seed's best baseline is ahead of the model, the seed)
        (sign * (best(b[i] for b in columns) - m), seed)
        for i, (m, seed) in enumerate(zip(s["model"]["values"], s["seeds"]))
    ]
    gap, seed = max(gaps)
    return f"loses by {gap:.4f} on seed {seed}"


def _scored(name: str, values: dict, metric: str) -> str:
    """A baseline's gate metric and, where recorded, its fit time."""
    seconds = values.get(FIT_SECONDS)
    return f"{name} {values[metric]:.4f}" + (f" ({seconds:.2g} s)" if seconds is not None else "")


def table(root: Path = Path(".")) -> str:
    """One row per use case: the gate metric of the deep model beside every baseline (best first, with its fit
    time), over seeds beside the strongest classical baseline, the verdict, and the champion.

    Entries named `floor_*` (e.g. real images scored as if generated) are references, not baselines: left out.
    """
    use_cases = declared_use_cases(root)
    seeds_file = root / "docs" / "seeds.json"
    seeds = json.loads(seeds_file.read_text())["use_cases"] if seeds_file.exists() else {}
    rows = [
        "| use case | model | gate metric | deep model | best baseline | other baselines | deep model over seeds | strongest classical over seeds | beats every baseline on every seed | champion |",
        "|---|---|---|---|---|---|---|---|---|---|",
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
        best, *others = [_scored(b, metrics[b], metric) for _, b in baselines]
        model = metrics["model"][metric]
        over_seeds, strongest, verdict = _spread(seeds.get(name))
        rest = ", ".join(others) or "–"
        rows.append(
            f"| {name} | {groups['model']} | {metric} ({'↑' if higher else '↓'}) | {model:.4f} | {best} | {rest} | {over_seeds} | {strongest} | {verdict} | v{registry['champion_version']} |"
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
