"""The model card: a Markdown description on every registered version (the version page in MLflow).

What a reader of the version page needs without opening the run: the task and the data (source,
split sizes and fractions, seed), every test metric of the model beside every baseline (with each
baseline's fit time, and a plain line naming any baseline that scored better on the gate metric on the
same test rows: the gate still registers the deep model), the gate's
decision with its bootstrap interval, lineage (git commit, prepared-data hash, training run), the
last alias moves (dlforge.registry.aliases.history), the headline of evaluate's explanations
(reports/<use case>/explain/summary.json) and how to call it (Python and curl, with a real request
from the test set). MLflow stores at most 5000 characters; a request example too long for that is
replaced by a pointer to the logged input example.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dlforge import keys as K
from dlforge.data.report import card_lines
from dlforge.tasks.tuned import FIT_SECONDS

MAX_CHARS = 5000  # MLflow's model_versions.description column
_HISTORY_ROWS = 5


def _fmt(v: Any) -> str:
    return "–" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)


def _cell(text: Any, width: int = 80) -> str:
    """Text for one Markdown table cell: one line, pipes escaped, cut to `width`."""
    return " ".join(str(text).split())[:width].replace("|", "\\|")


def metrics_table(metrics: dict[str, dict[str, float]]) -> list[str]:
    """Markdown table: one row per metric, the model's column first, then each baseline (and floor_*);
    a last row of each baseline's fit time in seconds, where evaluate recorded one."""
    methods = ["model", *(m for m in metrics if m != "model")]
    lines = ["| metric | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for k in metrics["model"]:
        lines.append(f"| {k} | " + " | ".join(_fmt(metrics[m].get(k)) for m in methods) + " |")
    if any(FIT_SECONDS in metrics[m] for m in methods):
        lines.append(f"| {FIT_SECONDS} | " + " | ".join(_fmt(metrics[m].get(FIT_SECONDS)) for m in methods) + " |")
    return lines


def better_baselines(metrics: dict[str, dict[str, float]], metric: str, higher: bool) -> list[str]:
    """Plain lines naming each baseline (not floor_*) that scored better than the model on `metric`."""
    model = metrics["model"][metric]
    better = [
        (m, v[metric])
        for m, v in metrics.items()
        if m != "model" and not m.startswith(K.FLOOR) and (v[metric] > model if higher else v[metric] < model)
    ]
    return [
        f"- **{m} scored better than this model on the same test rows**: {metric} {_fmt(v)} vs {_fmt(model)}. "
        "The gate compares deep models with the champion, not with baselines: this model is registered all the same."
        for m, v in better
    ]


def request_json(requests: Any, rows: int = 2) -> str:
    """A body for the served model's /invocations: `dataframe_split` for tables, `inputs` for arrays."""
    head = requests[:rows]
    if isinstance(head, pd.DataFrame):
        split = json.loads(head.reset_index(drop=True).to_json(orient="split", index=False))
        return json.dumps({"dataframe_split": split})
    return json.dumps({"inputs": np.asarray(head).tolist()})


def render(
    *,
    name: str,
    version: int,
    task: str,
    data: dict[str, Any],
    metrics: dict[str, dict[str, float]],
    gate: dict[str, Any],
    lineage: dict[str, str],
    history: list[dict[str, Any]],
    requests: Any,
    explanation: str | None = None,
    preprocessing: list[str] | None = None,
) -> str:
    """The card as Markdown (at most MAX_CHARS characters)."""
    sizes = ", ".join(f"{s} {n}" for s, n in data["sizes"].items())
    interval = (
        f"[{_fmt(gate['ci_low'])}, {_fmt(gate['ci_high'])}] at {_fmt(gate.get('confidence'))} confidence "
        f"({gate.get('bootstrap_samples')} paired bootstrap resamples)"
        if gate.get("ci_low") is not None
        else "none (no champion to compare with, or no bootstrap)"
    )
    head = [
        f"# {name} v{version}",
        "",
        f"**Task** `{task}` · **gate metric** `{gate['metric']}` "
        f"({'higher' if gate['higher_is_better'] else 'lower'} is better)",
        "",
        "## Data",
        f"- source: `{data['source']}`",
        f"- split (seed {data['seed']}): {sizes} rows; val {data['val']:g}, test {data['test']:g} of the rows",
        f"- prepared-data hash: `{lineage.get(K.DATA_HASH, 'unknown')}`",
        "",
        *(preprocessing or []),
        "## Test metrics (same test requests for every method)",
        *metrics_table(metrics),
        *better_baselines(metrics, gate["metric"], gate["higher_is_better"]),
        "",
        *(["## Explanations", f"{explanation} (`explain/` artifacts of the run)", ""] if explanation else []),
        "## Gate",
        f"- decision: **{'promoted to champion' if gate['promoted'] else 'challenger only'}** — {gate['reason']}",
        f"- gain interval: {interval}",
        f"- champion after this run: v{gate['champion_version']}",
        "",
        "## Lineage",
        f"- git commit `{lineage.get(K.GIT_COMMIT, 'unknown')}`"
        f" (uncommitted changes: {lineage.get(K.GIT_DIRTY, 'unknown')})",
        f"- training run `{lineage['run_id']}`",
    ]
    if history:
        head += ["", "## Recent alias moves", "| # | alias | version | kind | reason |", "|---|---|---|---|---|"]
        head += [
            f"| {r.get('seq')} | {r.get('alias')} | v{r.get('version')} | {r.get('kind')} | {_cell(r.get('reason'))} |"
            for r in history[-_HISTORY_ROWS:]
        ]
    uri = f"models:/{name}/{version}"
    call = [
        "",
        "## Call it",
        "```python",
        "import mlflow",
        f'model = mlflow.pyfunc.load_model("{uri}")  # or models:/{name}@champion',
        "print(model.predict(requests))  # the same inputs as the test requests below",
        "```",
        "```bash",
        f"mlflow models serve -m {uri} -p 5001 --env-manager local",
    ]
    body = request_json(requests)
    curl = f"curl -s localhost:5001/invocations -H 'Content-Type: application/json' -d '{body}'"
    card = "\n".join(head + call + [curl, "```"])
    if len(card) > MAX_CHARS:  # a wide request (images): point at the logged example instead
        short = "curl -s localhost:5001/invocations -H 'Content-Type: application/json' -d @serving_input_example.json"
        note = f"(the request body is the model's logged `serving_input_example.json`: download it from {uri})"
        card = "\n".join(head + call + [short, "```", note])
    return card[:MAX_CHARS]


def describe(
    client: Any, name: str, version: int, run_id: str, cfg: Any, prepared: Any, metrics: dict, gate: dict, requests: Any
) -> str:
    """Render the card for `name` v`version` and set it as the version's description; return it."""
    from dlforge.registry import aliases

    node = cfg.data.get("source") or cfg.data  # the loader's config (a data spec without one: the spec itself)
    args = ", ".join(f"{k}={v}" for k, v in node.items() if not str(k).startswith("_") and not hasattr(v, "items"))
    data = {
        "source": f"{node.get('_target_', 'data')}({args})",
        "sizes": prepared.meta.get("sizes", {}),
        "seed": cfg.seed,
        "val": cfg.split.val,
        "test": cfg.split.test,
    }
    summary = Path(cfg.paths.reports) / "explain" / "summary.json"  # evaluate's explanations (dlforge.tasks.explain)
    explanation = json.loads(summary.read_text()).get("headline") if summary.exists() else None
    tags = client.get_run(run_id).data.tags
    lineage = {**{k: v for k, v in tags.items() if k.startswith(K.PREFIX)}, "run_id": run_id}
    card = render(
        name=name,
        version=version,
        task=cfg.task._target_,
        data=data,
        metrics=metrics,
        gate=gate,
        lineage=lineage,
        history=aliases.history(client, name),
        requests=requests,
        explanation=explanation,
        preprocessing=card_lines(prepared.meta.get("report", {})),  # gaps imputed, rare/unseen categories
    )
    client.update_model_version(name, str(version), description=card)
    return card
