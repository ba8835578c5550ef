"""Deterministic train/val/test splits of row positions."""

from __future__ import annotations

import numpy as np

from dlforge.errors import UserError


def check_fractions(val: float, test: float) -> None:
    if not (0 < val < 1 and 0 < test < 1 and val + test < 1):
        raise UserError(f"config key 'split': val={val} and test={test} must be in (0, 1) and sum below 1")


def random_split(n: int, val: float, test: float, seed: int, strata: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Row positions for train/val/test; stratified on `strata` when given, same seed → same split."""
    check_fractions(val, test)
    from sklearn.model_selection import train_test_split  # here, not at import: served models import the specs

    idx = np.arange(n)
    n_test, n_val = round(test * n), round(val * n)  # exact counts: no float rounding drift
    enough(n, n_val, n_test, 1 if strata is None else len(np.unique(strata)))
    rest, test_idx = train_test_split(idx, test_size=n_test, random_state=seed, stratify=strata)
    train_idx, val_idx = train_test_split(
        rest, test_size=n_val, random_state=seed, stratify=None if strata is None else strata[rest]
    )
    return {"train": np.sort(train_idx), "val": np.sort(val_idx), "test": np.sort(test_idx)}


def enough(n: int, n_val: int, n_test: int, groups: int = 1) -> None:
    """Each split needs a row of every group (class) at least; name the fraction that gives too few."""
    for key, k in (("split.test", n_test), ("split.val", n_val), ("split (train)", n - n_val - n_test)):
        if k < groups:
            raise UserError(
                f"config key '{key}': {n} rows leave {k} rows for it; expected at least {groups} "
                f"(add rows or change split.val/split.test)"
            )


def chronological_split(n: int, val: float, test: float) -> dict[str, np.ndarray]:
    """The first rows train, the next validate, the last test: no shuffling across time."""
    check_fractions(val, test)
    n_test, n_val = round(test * n), round(val * n)
    cut_val, cut_test = n - n_test - n_val, n - n_test
    return {"train": np.arange(cut_val), "val": np.arange(cut_val, cut_test), "test": np.arange(cut_test, n)}


def group_split(groups: np.ndarray, val: float, test: float, seed: int) -> dict[str, np.ndarray]:
    """Row positions for train/val/test with every group (a speaker, a voice) in one split only.

    The groups (sorted, then shuffled by `seed`) are dealt out whole: round(test × groups) to test,
    round(val × groups) to val (at least one each), the rest to train. Same seed → same split.
    """
    check_fractions(val, test)
    names = np.unique(groups)
    n_test, n_val = max(1, round(test * len(names))), max(1, round(val * len(names)))
    if len(names) - n_test - n_val < 1:
        raise UserError(
            f"config key 'split': {len(names)} groups leave none for training with val={val} and test={test} "
            "(add voices or lower split.val/split.test)"
        )
    order = names[np.random.default_rng(seed).permutation(len(names))]
    where = {"test": order[:n_test], "val": order[n_test : n_test + n_val], "train": order[n_test + n_val :]}
    return {
        s: np.flatnonzero(np.isin(groups, g))
        for s, g in (("train", where["train"]), ("val", where["val"]), ("test", where["test"]))
    }
