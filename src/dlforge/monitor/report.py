"""The report a person reads, and the rows behind it for DVC, in reports/<use case>/monitor/<batch>/.

report.md         verdict, per-column table, predictions, labels, the plots below
psi.png           PSI per input and prediction column, with the moderate and drift thresholds
buckets.png       reference vs batch shares over the buckets of the most drifted columns
drift.json        one row per column (DVC plot: `dvc plots show <folder>/drift.json -x psi -y column`)
predictions.json  reference vs batch share per prediction bucket (DVC plot data)
summary.json      the verdict, the reason and every figure
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlforge.io import write_json
from dlforge.tasks import plot_data

SHOWN = 4  # columns whose buckets are drawn (the largest PSI first)


def _rows(columns: dict[str, dict], side: str) -> list[dict[str, Any]]:
    return [
        {
            "side": side,
            "column": c,
            "kind": v["kind"],
            "psi": v["psi"],
            "p_value": round(v["p_value"], 6),
            "missing": v["missing"],
            "unseen": v["unseen"],
            "drift": v["drift"],
        }
        for c, v in columns.items()
    ]


def write(out: Path, summary: dict[str, Any], inputs: dict[str, dict], predictions: dict[str, dict]) -> None:
    """Every file above into `out` (an atomic_dir the caller renames when complete)."""
    plot_data.write_rows(out / "drift.json", _rows(inputs, "input") + _rows(predictions, "prediction"))
    shares = []
    for c, v in predictions.items():
        b = v["buckets"]
        nr, nb = max(sum(b["reference"]), 1), max(sum(b["batch"]), 1)
        shares += [
            {"column": c, "bucket": f"{c}: {n}", "reference": round(r / nr, 6), "batch": round(x / nb, 6)}
            for n, r, x in zip(b["names"], b["reference"], b["batch"])
        ]
    plot_data.write_rows(out / "predictions.json", shares)
    write_json(out / "summary.json", summary)
    _plots(out, inputs, predictions, summary)
    (out / "report.md").write_text(_markdown(summary, inputs, predictions))


def _plots(out: Path, inputs: dict[str, dict], predictions: dict[str, dict], summary: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = {**inputs, **{f"prediction {c}": v for c, v in predictions.items()}}
    fig, ax = plt.subplots(figsize=(6, 0.4 * len(columns) + 1.5))
    names = list(columns)
    ax.barh(
        names,
        [columns[c]["psi"] for c in names],
        color=["tab:red" if columns[c]["drift"] else "tab:blue" for c in names],
    )
    for x, style in ((summary["thresholds"]["psi_moderate"], ":"), (summary["thresholds"]["psi_drift"], "--")):
        ax.axvline(x, color="grey", linestyle=style)
    ax.set(xlabel="PSI (batch vs reference)", title=f"{summary['batch']}: {summary['verdict']}")
    fig.tight_layout()
    fig.savefig(out / "psi.png", dpi=100)
    plt.close(fig)

    shown = sorted(columns, key=lambda c: -columns[c]["psi"])[:SHOWN]
    fig, axes = plt.subplots(len(shown), 1, figsize=(7, 2.4 * len(shown)), squeeze=False)
    for ax, c in zip(axes[:, 0], shown):
        b = columns[c]["buckets"]
        nr, nb = max(sum(b["reference"]), 1), max(sum(b["batch"]), 1)
        x = range(len(b["names"]))
        ax.bar([i - 0.2 for i in x], [r / nr for r in b["reference"]], 0.4, label="reference")
        ax.bar([i + 0.2 for i in x], [v / nb for v in b["batch"]], 0.4, label="batch")
        ax.set_xticks(list(x), b["names"], rotation=30, ha="right", fontsize=7)
        ax.set(ylabel="share", title=f"{c} (PSI {columns[c]['psi']:.3g})")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "buckets.png", dpi=100)
    plt.close(fig)


def _table(columns: dict[str, dict]) -> list[str]:
    lines = ["| column | kind | PSI | p-value | missing (train) | unseen | drift |", "|---|---|---|---|---|---|---|"]
    for c, v in columns.items():
        flag = "; ".join(v["reasons"]) or ("moderate" if v["moderate"] else "")
        lines.append(
            f"| {c} | {v['kind']} | {v['psi']:.3f} | {v['p_value']:.3g} | {v['missing']:.1%} ({v['missing_reference']:.1%}) "
            f"| {v['unseen']:.1%} | {flag} |"
        )
    return lines


def _markdown(summary: dict[str, Any], inputs: dict[str, dict], predictions: dict[str, dict]) -> str:
    s = summary
    lines = [
        f"# Monitor: {s['model']} v{s['version']} on {s['batch']}",
        "",
        f"**Verdict: {s['verdict']}** ({s['why']})",
        "",
        f"Batch `{s['input']}`: {s['rows']} rows. Reference: the training split of `{s['reference']}` "
        f"({s['reference_rows']} rows); predictions against the champion's {s['test_rows']} test predictions.",
        "",
        "## Inputs",
        "",
        *_table(inputs),
        "",
        "## Predictions",
        "",
    ]
    lines += _table(predictions) if predictions else [f"Not scored: {s['refused']}"]
    lines += ["", "## Labels", ""]
    lab = s.get("labels")
    if lab:
        lines.append(
            f"{lab['metric']} on the batch: {lab['batch']:.4g}, {lab['confidence']:.0%} bootstrap interval "
            f"[{lab['ci_low']:.4g}, {lab['ci_high']:.4g}]; the champion's test figure {lab['champion_test']:.4g} "
            f"({'higher' if lab['higher_is_better'] else 'lower'} is better): "
            + ("**degraded**" if lab["degraded"] else "not worse")
        )
    else:
        lines.append(s.get("labels_note", "The batch has no labels."))
    t = s["thresholds"]
    lines += [
        "",
        f"Thresholds: PSI moderate {t['psi_moderate']:g}, drift {t['psi_drift']:g} when p < {t['p_value']:g}; "
        f"missing +{t['missing_share']:.0%}; unseen {t['unseen_share']:.0%} (conf/monitor/).",
        "",
        "![PSI per column](psi.png)",
        "",
        "![Shares of the most shifted columns](buckets.png)",
        "",
    ]
    return "\n".join(lines)
