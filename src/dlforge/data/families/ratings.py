"""Explicit ratings (user, item, rating, time): a per-user time split and id → index maps.

Split (per user, never shuffled across time): each user's ratings are ordered by (time, item);
the latest round(test · n) go to test, the round(val · n) before them to val, the rest to train
(at least one rating each). Users with fewer than `min_ratings` (and always fewer than 3) ratings stay wholly in train.
Every test rating of a user is therefore no earlier than that user's train ratings; other users'
later ratings may still be in train (the usual leave-latest-out protocol, not a global cut-off).

Served ids are raw (`user`, `movie` columns). Index 0 of both maps means "not seen in train": the
network keeps that embedding and bias at zero, so an unknown user gets the item's bias model
(global mean + item bias) and an unknown movie the user's (global mean + user bias).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from dlforge.data import validate
from dlforge.data.preprocess import Preprocessor
from dlforge.data.spec import Spec
from dlforge.data.split import check_fractions
from dlforge.errors import UserError
from dlforge.keys import RANK_ITEM, RANK_USER

USER, ITEM = "user", "movie"  # the served request columns


def _ids(df: pd.DataFrame, column: str, where: str) -> np.ndarray:
    """Integer ids of a column, or a UserError naming the first row that is not one."""
    values = pd.to_numeric(df[column], errors="coerce")
    bad = (values.isna() | (values != np.round(values))).to_numpy()
    if bad.any():
        row = int(np.argmax(bad))
        raise UserError(
            f"{where}: {validate.at(df, row, column)}: expected an integer id, got {df[column].iloc[row]!r}"
        )
    return values.to_numpy().astype(np.int64)


class RatingsPreprocessor(Preprocessor):
    """Raw (user, movie) ids → int64 [user_idx, item_idx]; ratings centred on the train mean.

    The state also keeps, per user, the items rated in train (top-10 requests leave them out; one
    string of space-separated item indices per user, so the JSON stays ~0.6 MB for MovieLens 100k)
    and the titles of the known movies.
    """

    def __init__(
        self,
        users: list[int],
        items: list[int],
        titles: list[str],
        seen: list[str],
        mean: float,
        rating_range: list[float],
    ):
        self.users, self.items, self.titles, self.seen = users, items, titles, seen
        self.mean, self.rating_range = mean, list(rating_range)
        self._user_index = pd.Index(users)
        self._item_index = pd.Index(items)

    @classmethod
    def fit(cls, train: pd.DataFrame, rating_range: list[float]) -> RatingsPreprocessor:
        users, items = sorted(train[USER].unique().tolist()), sorted(train[ITEM].unique().tolist())
        titles = (
            train.groupby(ITEM)["title"].first().reindex(items).fillna("").astype(str).tolist()
            if "title" in train
            else [""] * len(items)
        )
        pre = cls(users, items, titles, [], float(train["rating"].mean()), rating_range)
        x = pre.transform(train[[USER, ITEM]])
        order = np.lexsort((x[:, 1], x[:, 0]))
        groups = np.split(x[order, 1], np.flatnonzero(np.diff(x[order, 0])) + 1)
        pre.seen = [""] + [" ".join(map(str, g.tolist())) for g in groups]  # index 0: the unknown user has seen nothing
        return pre

    @property
    def model_args(self) -> dict[str, dict[str, Any]]:
        return {"net": {"n_users": len(self.users) + 1, "n_items": len(self.items) + 1}, "module": {}}

    def user_index(self, ids: np.ndarray) -> np.ndarray:
        return self._user_index.get_indexer(ids) + 1  # -1 (unknown) → 0

    def item_index(self, ids: np.ndarray) -> np.ndarray:
        return self._item_index.get_indexer(ids) + 1

    def seen_items(self, user_index: int) -> np.ndarray:
        """Item indices the user rated in train."""
        return np.array(self.seen[user_index].split(), dtype=np.int64)

    def check(self, raw: Any, columns: list[str]) -> pd.DataFrame:
        """The request as a DataFrame with exactly `columns`, all integer ids."""
        df = raw if isinstance(raw, pd.DataFrame) else pd.DataFrame(raw)
        unknown = [c for c in df.columns if c not in columns]
        if unknown:
            raise UserError(f"input: unknown column '{unknown[0]}' (expected: {', '.join(columns)})")
        validate.require_columns(df, columns, "input")
        validate.no_missing(df, columns, "input")
        return pd.DataFrame({c: _ids(df, c, "input") for c in columns})

    def transform(self, raw: Any) -> np.ndarray:
        df = self.check(raw, [USER, ITEM])
        return np.stack([self.user_index(df[USER].to_numpy()), self.item_index(df[ITEM].to_numpy())], axis=1).astype(
            np.int64
        )

    def transform_target(self, t: np.ndarray) -> np.ndarray:
        return (np.asarray(t, dtype=np.float64) - self.mean).astype(np.float32)

    def inverse_target(self, y: np.ndarray) -> np.ndarray:
        """Back to the rating scale, clipped to the ratings that exist."""
        return np.clip(np.asarray(y, dtype=np.float64).reshape(-1) + self.mean, *self.rating_range)

    def state(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "items": self.items,
            "titles": self.titles,
            "seen": self.seen,
            "mean": self.mean,
            "rating_range": self.rating_range,
        }


class Ratings(Spec):
    """A ratings table; columns named by config, renamed to the served `user`/`movie` ids."""

    def __init__(
        self,
        source: Callable[[], pd.DataFrame],
        user: str,
        item: str,
        rating: str,
        time: str,
        title: str | None,
        rating_range: list[float],
        min_ratings: int = 5,
        negatives: int = 100,
        max_users: int | None = None,
        seed: int = 0,
        name: str = "data",
    ):
        super().__init__(source, name)
        self.columns = {user: USER, item: ITEM, rating: "rating", time: "time", **({title: "title"} if title else {})}
        self.rating_range, self.min_ratings, self.negatives = list(rating_range), min_ratings, negatives
        self.max_users, self.seed = max_users, seed

    def load(self) -> pd.DataFrame:
        df = self.source()
        validate.require_columns(df, list(self.columns), self.name)
        df = df[list(self.columns)].rename(columns=self.columns)
        if self.max_users is not None:  # a small slice for tests: the users with the lowest ids
            df = df[df[USER].isin(np.sort(df[USER].unique())[: self.max_users])]
        return df  # the index keeps each row's position in the source, for error messages

    def validate(self, df: pd.DataFrame) -> None:
        """Ids integer, ratings and times present and numeric, ratings inside `rating_range`, no repeats."""
        where = self.name
        names = {v: k for k, v in self.columns.items()}  # errors name the source's columns
        try:
            validate.no_missing(df, [USER, ITEM, "rating", "time"], where)
            validate.numeric(df, ["time"], where)
            validate.numeric(df, ["rating"], where, *self.rating_range)
            for c in (USER, ITEM):
                _ids(df, c, where)
        except UserError as e:
            raise UserError(_rename(str(e), names)) from None
        repeated = df.duplicated([USER, ITEM]).to_numpy()
        if repeated.any():
            row = int(np.argmax(repeated))
            raise UserError(
                f"{where}: {validate.at(df, row)}: user {df[USER].iloc[row]} rated movie {df[ITEM].iloc[row]} twice"
            )

    def split(self, df: pd.DataFrame, val: float, test: float, seed: int) -> dict[str, np.ndarray]:
        """Per user: latest ratings → test, the ones before → val, the rest → train (see module doc)."""
        check_fractions(val, test)
        order = np.lexsort((df[ITEM].to_numpy(), df["time"].to_numpy(), df[USER].to_numpy()))
        users = df[USER].to_numpy()[order]
        starts = np.r_[0, np.flatnonzero(np.diff(users)) + 1]
        sizes = np.diff(np.r_[starts, len(order)])
        rank = np.arange(len(order)) - np.repeat(starts, sizes)  # position within the user's history
        n = np.repeat(sizes, sizes)
        n_test = np.maximum(1, np.round(test * n)).astype(int)
        n_val = np.maximum(1, np.round(val * n)).astype(int)
        eligible = n >= max(self.min_ratings, 3)
        is_test = eligible & (rank >= n - n_test)
        is_val = eligible & ~is_test & (rank >= n - n_test - n_val)
        return {
            "train": np.sort(order[~is_test & ~is_val]),
            "val": np.sort(order[is_val]),
            "test": np.sort(order[is_test]),
        }

    def fit(self, df: pd.DataFrame, train: np.ndarray) -> RatingsPreprocessor:
        return RatingsPreprocessor.fit(df.iloc[train], self.rating_range)

    def examples(self, df: pd.DataFrame, idx: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
        rows = df.iloc[idx]
        return pd.DataFrame({USER: rows[USER].to_numpy(np.int64), ITEM: rows[ITEM].to_numpy(np.int64)}), rows[
            "rating"
        ].to_numpy(np.float64)

    def extras(self, df: pd.DataFrame, idx: dict[str, np.ndarray], pre: Preprocessor) -> dict[str, np.ndarray]:
        """Ranking negatives: per test user, `negatives` movies known from train that the user never rated.

        Drawn uniformly without replacement (seeded) and stored as raw ids (rank_user, rank_movie);
        the recommendation task ranks them together with the user's test movies.
        """
        rng = np.random.default_rng(self.seed)
        known = np.asarray(pre.items, dtype=np.int64)
        rated = df.groupby(USER)[ITEM].apply(lambda s: set(s.tolist()))
        users, movies = [], []
        for u in np.unique(df[USER].to_numpy()[idx["test"]]):
            pool = known[~np.isin(known, list(rated[u]))]
            pick = rng.choice(pool, size=min(self.negatives, len(pool)), replace=False)
            users.append(np.full(len(pick), u, dtype=np.int64))
            movies.append(np.sort(pick))
        empty = np.zeros(0, dtype=np.int64)
        return {
            RANK_USER: np.concatenate(users) if users else empty,
            RANK_ITEM: np.concatenate(movies) if movies else empty,
        }


def _rename(message: str, names: dict[str, str]) -> str:
    """A validation message with the internal column name replaced by the source's."""
    for internal, original in names.items():
        message = message.replace(f"column '{internal}'", f"column '{original}'")
    return message
