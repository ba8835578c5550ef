"""Deterministic train/val/test splits of row indices."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

from dlforge.errors import UserError


def random_split(labels: np.ndarray, val: float, test: float, seed: int, stratify: bool) -> dict[str, np.ndarray]:
    """Row indices for train/val/test; stratified on `labels` when asked, same seed → same split."""
    if not (0 < val < 1 and 0 < test < 1 and val + test < 1):
        raise UserError(f"config key 'split': val={val} and test={test} must be in (0, 1) and sum below 1")
    idx = np.arange(len(labels))
    strat = labels if stratify else None
    n_test, n_val = round(test * len(idx)), round(val * len(idx))  # exact counts: no float rounding drift
    rest, test_idx = train_test_split(idx, test_size=n_test, random_state=seed, stratify=strat)
    strat_rest = labels[rest] if stratify else None
    train_idx, val_idx = train_test_split(rest, test_size=n_val, random_state=seed, stratify=strat_rest)
    return {"train": np.sort(train_idx), "val": np.sort(val_idx), "test": np.sort(test_idx)}
