"""What the network's predictions rest on: Captum attributions and embedding neighbours, shared by the tasks.

Each task's `explain(net, data, out)` (dlforge.tasks.base) picks a few test rows and calls these helpers;
evaluate writes the files into reports/<use case>/explain/ (a DVC output; dvc.yaml's top-level `plots:`
draws the files each task names in EXPLAIN_PLOTS) and logs them to the training run under explain/.
Every family writes `summary.json` with a one-line `headline` (what a model card can quote).

Integrated Gradients (Captum) integrates the gradient along the straight path from a baseline input (the
"nothing" input: the mean for standardised features, a black image, unknown words, the series mean) to
the input; its attributions add up to the output's change along that path. `n_steps` stays small and the
rows few, so evaluate stays about as fast as before; every choice is deterministic (first rows, seeded
permutations), so a re-run writes the same numbers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from dlforge.tasks import plot_data

N_STEPS = 16  # Integrated Gradients steps along the path from the baseline to the input
TABULAR_ROWS = 256  # test rows whose tabular attributions are averaged
PERMUTATION_ROWS = 50_000  # first test rows whose loss permutation importance compares (bounded at any size)


def _float(net: nn.Module, x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x)).to(next(net.parameters()).dtype)


def integrated_gradients(net: nn.Module, x: np.ndarray, baseline: float | np.ndarray, target: Any = None) -> np.ndarray:
    """Per-input-element attributions of output `target` (a class index per row, or None for one output)."""
    from captum.attr import IntegratedGradients

    inputs = _float(net, x)
    base = torch.broadcast_to(_float(net, np.asarray(baseline, dtype=np.float32)), inputs.shape).contiguous()
    if target is not None:
        target = torch.as_tensor(np.asarray(target), dtype=torch.long)
    with torch.enable_grad():
        attr = IntegratedGradients(net).attribute(inputs, base, target=target, n_steps=N_STEPS)
    return attr.detach().double().numpy()


def token_attributions(
    net: nn.Module, layer: nn.Module, ids: np.ndarray, baseline: np.ndarray, target: Any
) -> np.ndarray:
    """Per-token attributions (n, length) of Layer Integrated Gradients on an embedding layer, summed over its dims."""
    from captum.attr import LayerIntegratedGradients

    inputs, base = torch.from_numpy(ids), torch.from_numpy(baseline)
    with torch.enable_grad():
        attr = LayerIntegratedGradients(net, layer).attribute(
            inputs, base, target=torch.as_tensor(np.asarray(target), dtype=torch.long), n_steps=N_STEPS
        )
    return attr.sum(-1).detach().double().numpy()


def group_sum(values: np.ndarray, groups: Sequence[tuple[str, int]]) -> dict[str, float]:
    """Column values summed per original feature: `groups` = (feature, number of model columns) in column order."""
    out, start = {}, 0
    for name, width in groups:
        out[name] = float(np.sum(values[..., start : start + width]))
        start += width
    return out


def permutation_importance(
    score, x: np.ndarray, groups: Sequence[tuple[str, int]], repeats: int = 3, seed: int = 0
) -> dict[str, float]:
    """Mean rise of `score(x)` (a loss) when one feature's columns are shuffled across the rows (seeded)."""
    rng = np.random.default_rng(seed)
    base, out, start = score(x), {}, 0
    for name, width in groups:
        rises = []
        for _ in range(repeats):
            shuffled = x.copy()
            shuffled[:, start : start + width] = x[rng.permutation(len(x)), start : start + width]
            rises.append(score(shuffled) - base)
        out[name] = float(np.mean(rises))
        start += width
    return out


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Rank correlation of two importance lists (1 = same order)."""
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1]) if len(a) > 1 and ra.std() and rb.std() else 1.0


def nearest(vectors: np.ndarray, queries: Sequence[int], k: int) -> list[list[tuple[int, float]]]:
    """The k nearest rows of `vectors` to each query row by cosine similarity (the query itself left out)."""
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    found = []
    for q in queries:
        sims = unit @ unit[q]
        sims[q] = -np.inf
        best = np.argsort(-sims, kind="stable")[:k]
        found.append([(int(i), float(sims[i])) for i in best])
    return found


def image_grid(images: np.ndarray, attributions: np.ndarray, titles: Sequence[str], path: Path, per_row: int) -> None:
    """A PNG: each image above its attribution map (red pushes toward the class, blue away), `per_row` per row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = -(-len(images) // per_row)
    fig, axes = plt.subplots(2 * rows, per_row, figsize=(1.2 * per_row, 2.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, (image, attr, title) in enumerate(zip(images, attributions, titles)):
        r, c = divmod(i, per_row)
        axes[2 * r, c].imshow(image, cmap="gray")
        axes[2 * r, c].set_title(title, fontsize=7)
        bound = float(np.abs(attr).max()) or 1.0
        axes[2 * r + 1, c].imshow(attr, cmap="bwr", vmin=-bound, vmax=bound)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (pipes in cells escaped)."""
    cell = lambda v: (f"{v:.4f}" if isinstance(v, float) else str(v)).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]) + "\n"


def write_summary(out: Path, headline: str, **facts: Any) -> None:
    """summary.json: the one-line headline and the facts behind it."""
    (out / "summary.json").write_text(json.dumps({"headline": headline, **facts}, indent=2, default=plot_data._plain))


def first_per_class(y: np.ndarray, per_class: int) -> np.ndarray:
    """Indices of the first `per_class` rows of each class, class by class (deterministic)."""
    return np.concatenate([np.flatnonzero(y == c)[:per_class] for c in np.unique(y)])


def tabular(net: nn.Module, x: np.ndarray, pre: Any, target: Any, loss, baseline: Any, train: tuple, out: Path) -> None:
    """attributions.json/.png and summary.json of a tabular network: per original feature, the mean
    |Integrated Gradients| over the first test rows `x` (baseline 0 = the train mean after standardising), the
    permutation importance (rise of `loss` on `x`) and the |coefficients| of a fresh copy of the
    linear `baseline` fitted on `train` = (x, y) (standardised inputs: comparable); one-hot columns are summed."""
    from sklearn.base import clone

    groups = [(c, 1) for c in pre.numeric] + [(c, len(v)) for c, v in pre.categorical.items()]
    rows = x[:TABULAR_ROWS]
    target = None if target is None else np.asarray(target)[:TABULAR_ROWS]
    ig = group_sum(np.abs(integrated_gradients(net, rows, 0.0, target)).mean(0), groups)
    perm = permutation_importance(loss, x, groups)
    x_train, y_train = train
    coef = np.abs(np.atleast_2d(clone(baseline).fit(x_train, y_train).coef_)).mean(0)
    lr = group_sum(coef, groups)
    table = sorted(
        ({"feature": f, "integrated_gradients": ig[f], "permutation": perm[f], "baseline_coef": lr[f]} for f in ig),
        key=lambda r: -r["integrated_gradients"],
    )
    plot_data.write_rows(out / "attributions.json", table)
    _bars(table, out / "attributions.png")
    agree = spearman([r["permutation"] for r in table], [r["baseline_coef"] for r in table])
    write_summary(
        out,
        f"top feature {table[0]['feature']} (Integrated Gradients); permutation importance vs the baseline's "
        f"|coefficients|: Spearman {agree:.2f}",
        top_features=[r["feature"] for r in table[:5]],
        rank_agreement_with_baseline=agree,
    )


def _bars(table: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    top = table[:15][::-1]
    fig, axes = plt.subplots(1, 3, figsize=(10, 0.3 * len(top) + 1.2), sharey=True)
    for ax, key in zip(axes, ("integrated_gradients", "permutation", "baseline_coef")):
        ax.barh([r["feature"] for r in top], [r[key] for r in top])
        ax.set_title(key.replace("_", " "), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
