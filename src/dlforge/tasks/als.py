"""Biased matrix factorisation by alternating least squares: the classical reference for rating prediction.

rating ≈ global mean + b_user + b_item + p_user · q_item. With the item side fixed, each user's
(p_user, b_user) is an exact ridge regression on that user's train ratings (L2 strength `reg` on
both), and the other way round; `iterations` alternations from small seeded random factors. The
recommendation task fits it on the train ratings for each `reg` of its grid and keeps the one with
the lowest val RMSE (dlforge.tasks.recommendation).
"""

from __future__ import annotations

import numpy as np


def _side(rows: np.ndarray, cols: np.ndarray, residual: np.ndarray, other: np.ndarray, n: int, reg: float):
    """Each row entity's [factors, bias] by ridge on the residuals of its ratings, the other side's
    [factors, 1] as features (`other`: (n_other, k + 1))."""
    k1 = other.shape[1]
    out = np.zeros((n, k1))
    order = np.argsort(rows, kind="stable")
    starts = np.searchsorted(rows[order], np.arange(n + 1))
    ridge = reg * np.eye(k1)
    for e in range(n):
        idx = order[starts[e] : starts[e + 1]]
        if len(idx):
            x = other[cols[idx]]
            out[e] = np.linalg.solve(x.T @ x + ridge, x.T @ residual[idx])
    return out


def fit(
    users: np.ndarray,
    items: np.ndarray,
    centred: np.ndarray,
    n_users: int,
    n_items: int,
    factors: int,
    reg: float,
    iterations: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(user table, item table), each row [factors..., bias], from train ratings minus the global mean."""
    rng = np.random.default_rng(seed)
    u = np.c_[rng.normal(0, 0.1, (n_users, factors)), np.zeros(n_users)]
    v = np.c_[rng.normal(0, 0.1, (n_items, factors)), np.zeros(n_items)]
    for _ in range(iterations):
        # users: features [q_item, 1] → [p_user, b_user]; target: rating - b_item
        u = _side(users, items, centred - v[items, -1], np.c_[v[:, :-1], np.ones(n_items)], n_users, reg)
        v = _side(items, users, centred - u[users, -1], np.c_[u[:, :-1], np.ones(n_users)], n_items, reg)
    return u, v


def predict(u: np.ndarray, v: np.ndarray, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Centred predictions (add the global mean back) for (user, item) index pairs."""
    return (u[users, :-1] * v[items, :-1]).sum(1) + u[users, -1] + v[items, -1]
