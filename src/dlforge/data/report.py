"""Prepare's report of what it did to the user's rows: gaps imputed, rare and unseen categories.

Stored as meta.json["report"] of the prepared data (dlforge.data.prepared):

    missing, unknown_categories, min_category_rows   the settings (data.*)
    imputed: {split: {column: rows}}                 gaps filled (data.missing=impute)
    unseen:  {split: {column: rows}}                 val/test values never seen in train (-> <other>)
    rare:    {column: {"levels": k, "rows": n}}      train values under min_category_rows rows (-> <other>)
    indicators: [feature], datetime: {column: [feature]}   the features prepare added

Read by prepare's summary line (`summary`), evaluate (MLflow metrics of the training run, `metrics`),
the model card (`card_lines`); the served model logs `request_line` for each request with gaps or
unseen values.
"""

from __future__ import annotations

import re
from typing import Any

from dlforge.data.columns import OTHER

SHOWN = 6  # columns named in a summary before "… and N more"


def build(fitted: dict[str, Any], imputed: dict[str, dict[str, int]], unseen: dict[str, dict[str, int]]) -> dict:
    """The report from the preprocessor's fit_report and each split's counts (empty: nothing to report)."""
    if not fitted:
        return {}
    return {**fitted, "imputed": imputed, "unseen": {s: c for s, c in unseen.items() if s != "train"}}


def _total(per_split: dict[str, dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for counts in per_split.values():
        for c, n in counts.items():
            out[c] = out.get(c, 0) + n
    return out


def _columns(counts: dict[str, Any], fmt) -> str:
    items = sorted(counts.items())
    text = ", ".join(fmt(c, v) for c, v in items[:SHOWN])
    return text + (f" … and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def summary(report: dict) -> str:
    """One line: what was imputed (rows per column), which columns share <other> and why."""
    if not report:
        return ""
    imputed, unseen, rare = _total(report.get("imputed", {})), _total(report.get("unseen", {})), report.get("rare", {})
    parts = [
        "missing values refused (data.missing=refuse)"
        if report["missing"] == "refuse"
        else "imputed: " + (_columns(imputed, lambda c, n: f"{c} {n}") if imputed else "none"),
    ]
    if "min_category_rows" in report:
        parts.append(
            f"{OTHER}: "
            + (
                _columns(rare, lambda c, r: f"{c} {r['levels']} rare levels ({r['rows']} train rows)")
                if rare
                else "no rare levels"
            )
            + "; unseen in val/test: "
            + (_columns(unseen, lambda c, n: f"{c} {n}") if unseen else "none")
        )
    if report.get("datetime"):
        parts.append("dates expanded: " + ", ".join(sorted(report["datetime"])))
    return "; ".join(parts)


def _key(column: str) -> str:
    return re.sub(r"[^\w.\- /]", "_", str(column))  # characters MLflow allows in a metric name


def metrics(report: dict) -> dict[str, float]:
    """The report as MLflow metrics: totals, then one per column (prepare_imputed/<column>, ...)."""
    if not report:
        return {}
    imputed, unseen = _total(report.get("imputed", {})), _total(report.get("unseen", {}))
    out = {"prepare_imputed": float(sum(imputed.values())), "prepare_unseen_categories": float(sum(unseen.values()))}
    out.update({f"prepare_imputed/{_key(c)}": float(n) for c, n in imputed.items()})
    out.update({f"prepare_unseen_categories/{_key(c)}": float(n) for c, n in unseen.items()})
    out.update({f"prepare_rare_levels/{_key(c)}": float(r["levels"]) for c, r in report.get("rare", {}).items()})
    return out


def card_lines(report: dict) -> list[str]:
    """The model card's lines on preprocessing (empty when the data has no such report)."""
    line = summary(report)
    return ["## Preprocessing (prepare's report)", f"- {line}", ""] if line else []


def request_line(counts: dict[str, dict[str, int]], rows: int) -> str:
    """The served model's log line for one request ('' when nothing was imputed or mapped)."""
    parts = [f"column '{c}' {n} of {rows} rows imputed" for c, n in sorted(counts.get("imputed", {}).items())]
    parts += [
        f"column '{c}' {n} of {rows} rows unseen in train -> {OTHER}"
        for c, n in sorted(counts.get("unseen", {}).items())
    ]
    return "input: " + ", ".join(parts) if parts else ""
