"""Per-column drift of a batch against a reference: PSI, a two-sample test, missing and unseen shares.

PSI = Σ (batch share - reference share) · ln(batch share / reference share) over buckets: deciles of
the reference's values for a numeric column, the reference's most frequent categories (the rest pooled)
plus one bucket for categories the reference never had for a categorical one. Shares are floored at
EPS, so an empty bucket gives a large but finite PSI. PSI alone flags small batches by chance (its
expected value without any shift is about (buckets - 1) · (1/n_batch + 1/n_reference)), so a column
drifts only when PSI reaches `psi.drift` AND the two-sample test agrees (p < `p_value`): Kolmogorov-
Smirnov for numeric columns, chi-squared on the bucket counts for categorical ones (SciPy's). A share of
missing values above the reference's by more than `missing_share`, or of unseen categories above
`unseen_share`, is drift on its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

EPS = 1e-4  # the smallest share a bucket counts with (the usual PSI smoothing)
OTHER, UNSEEN = "<other>", "<unseen>"


def psi(ref: np.ndarray, batch: np.ndarray) -> float:
    """PSI between two count vectors over the same buckets."""
    p = np.maximum(ref / max(ref.sum(), 1), EPS)
    q = np.maximum(batch / max(batch.sum(), 1), EPS)
    return float(np.sum((q - p) * np.log(q / p)))


def numeric_buckets(ref: np.ndarray, batch: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Counts of reference and batch values in the reference's quantile buckets, and the buckets' names."""
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1])) if len(ref) else np.array([])
    count = lambda v: np.bincount(np.searchsorted(edges, v, side="right"), minlength=len(edges) + 1)  # noqa: E731
    names = [f"< {edges[0]:.4g}"] if len(edges) else ["all"]
    names += [f"{a:.4g} - {b:.4g}" for a, b in zip(edges[:-1], edges[1:])] + (
        [f">= {edges[-1]:.4g}"] if len(edges) else []
    )
    return count(ref), count(batch), names


def categorical_buckets(
    ref: pd.Series, batch: pd.Series, max_categories: int
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Counts over the reference's most frequent categories, the rest of its categories, and unseen ones."""
    freq = ref.value_counts()
    top = list(freq.index[:max_categories])
    known = set(freq.index)
    names = [*map(str, top), OTHER, UNSEEN]

    def count(s: pd.Series) -> np.ndarray:
        bucket = s.map(lambda v: v if v in top else (OTHER if v in known else UNSEEN))
        return bucket.value_counts().reindex(names, fill_value=0).to_numpy()

    return count(ref), count(batch), names


def column(ref: pd.Series, batch: pd.Series, kind: str, settings: Any) -> dict[str, Any]:
    """One column's figures and whether (and why) it drifted."""
    from scipy.stats import chi2_contingency, ks_2samp

    r, b = ref.dropna(), batch.dropna()
    out: dict[str, Any] = {"kind": kind, "rows": int(len(batch))}
    out["missing_reference"] = round(float(ref.isna().mean()) if len(ref) else 0.0, 6)
    out["missing"] = round(float(batch.isna().mean()) if len(batch) else 0.0, 6)
    if kind == "numeric":
        rc, bc, names = numeric_buckets(r.to_numpy(np.float64), b.to_numpy(np.float64), settings.psi.bins)
        p = float(ks_2samp(r, b).pvalue) if len(r) and len(b) else 1.0
        out["unseen"] = 0.0
    else:
        rc, bc, names = categorical_buckets(r, b, settings.psi.max_categories)
        both = np.stack([rc, bc])
        both = both[:, both.sum(0) > 0]
        p = float(chi2_contingency(both).pvalue) if both.shape[1] > 1 and len(b) else 1.0
        out["unseen"] = round(float(bc[-1] / max(len(b), 1)), 6)
    out["psi"] = round(psi(rc, bc), 6) if len(b) else 0.0
    out["p_value"] = p
    out["buckets"] = {"names": names, "reference": rc.tolist(), "batch": bc.tolist()}
    reasons = []
    if out["psi"] >= settings.psi.drift and p < settings.p_value:
        reasons.append(f"PSI {out['psi']:.3g} >= {settings.psi.drift:g} (p {p:.2g})")
    if out["missing"] - out["missing_reference"] > settings.missing_share:
        reasons.append(f"missing {out['missing']:.1%} (train {out['missing_reference']:.1%})")
    if out["unseen"] > settings.unseen_share:
        reasons.append(f"unseen categories {out['unseen']:.1%}")
    out["drift"], out["reasons"] = bool(reasons), reasons
    out["moderate"] = bool(not reasons and out["psi"] >= settings.psi.moderate)
    return out


def compare(ref: pd.DataFrame, batch: pd.DataFrame, kinds: dict[str, str], settings: Any) -> dict[str, dict[str, Any]]:
    """Every column of `kinds`, batch against reference."""
    return {c: column(ref[c], batch[c], kind, settings) for c, kind in kinds.items()}
