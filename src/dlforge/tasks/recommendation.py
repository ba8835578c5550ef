"""Recommendation from explicit ratings: rating error and top-k ranking on the same test requests.

Test requests = every test rating (user, movie) plus, per test user, the sampled negatives that
prepare stored (movies known from train the user never rated; dlforge.data.families.ratings). Predictions
are one score per request row, so the served model answers them and the gate compares models on them:

    rmse, mae               over the rated rows only (sampled negatives have no rating)
    hr_at_k, ndcg_at_k      per test user, rank the user's test movies + negatives by score;
                            relevant = test movies rated >= `relevant_from`; HR@k = some relevant
                            movie in the top k; NDCG@k with binary gains; users without a relevant
                            test movie are skipped; averaged over users (torchmetrics.retrieval)

A prediction is (n,) ratings (the ranking score too) or (n, 2) [rating, ranking score]. Baselines,
fitted on train: `biases` (global mean + user and item biases, L2-regularised, alternating exact
updates) and `most_popular` (ranks by train rating count; its rating is the item's mean shrunk
toward the global mean by `bias_reg` pseudo-ratings, i.e. the item-only bias model) and `als`
(biases + latent factors by alternating least squares, its L2 strength chosen on val: dlforge.tasks.als).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torchmetrics.functional import mean_absolute_error, mean_squared_error
from torchmetrics.retrieval import RetrievalHitRate, RetrievalNormalizedDCG

from dlforge.data.families.ratings import ITEM, USER
from dlforge.data.prepared import Prepared
from dlforge.data.preprocess import Preprocessor
from dlforge.keys import RANK_ITEM, RANK_USER
from dlforge.tasks import als, plot_data
from dlforge.tasks import explain as ex
from dlforge.tasks.base import Serving, Task, forward

TOP_K = 10  # movies a user-only request returns


def _parts(pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rating, ranking score) of a prediction; a plain rating vector is its own score."""
    pred = np.asarray(pred, dtype=np.float64)
    return (pred, pred) if pred.ndim == 1 else (pred[:, 0], pred[:, 1])


def ranking(name: str, score: np.ndarray, rating: np.ndarray, users: np.ndarray, k: int, relevant_from: float) -> float:
    """HR@k ("hr") or NDCG@k ("ndcg") averaged over users with at least one relevant candidate."""
    metric = (RetrievalHitRate if name == "hr" else RetrievalNormalizedDCG)(top_k=k, empty_target_action="skip")
    relevant = torch.as_tensor(np.nan_to_num(rating, nan=-np.inf) >= relevant_from)
    return round(float(metric(torch.as_tensor(score), relevant, indexes=torch.as_tensor(users, dtype=torch.long))), 6)


class RecommendationServing(Serving):
    """The served recommender: (user, movie) → predicted rating; user alone → that user's top 10 unseen movies."""

    @staticmethod
    def predict(net: torch.nn.Module, pre: Preprocessor, raw: Any) -> np.ndarray:
        return pre.inverse_target(forward(net, pre.transform(raw)))

    @classmethod
    def serve(cls, net: torch.nn.Module, pre: Preprocessor, raw: Any, params: dict | None = None) -> pd.DataFrame:
        """Columns user + movie → their predicted ratings; column user alone → each user's top 10."""
        df = raw if isinstance(raw, pd.DataFrame) else pd.DataFrame(raw)
        if ITEM in df.columns:
            pairs = pre.check(df, [USER, ITEM])
            return pairs.assign(rating=cls.predict(net, pre, pairs))
        return cls.top(net, pre, pre.check(df, [USER])[USER].to_numpy(), TOP_K)

    @staticmethod
    def top(net: torch.nn.Module, pre: Preprocessor, users: np.ndarray, k: int) -> pd.DataFrame:
        """The k best-scored movies per user among those not rated in train (an unknown user: the best by item bias)."""
        items = np.arange(1, len(pre.items) + 1)
        rows = []
        for user, u in zip(users, pre.user_index(users)):
            scores = forward(net, np.stack([np.full(len(items), u), items], 1).astype(np.int64), batch_size=1 << 16)
            scores[pre.seen_items(u) - 1] = -np.inf
            best = np.argsort(-scores, kind="stable")[:k]
            best = best[np.isfinite(scores[best])]  # a user who rated nearly every movie gets fewer
            rows.append(
                pd.DataFrame(
                    {
                        USER: user,
                        "rank": np.arange(1, len(best) + 1),
                        ITEM: np.asarray(pre.items)[best],
                        "title": np.asarray(pre.titles, dtype=object)[best],
                        "rating": pre.inverse_target(scores[best]),
                    }
                )
            )
        return (
            pd.concat(rows, ignore_index=True)
            if rows
            else pd.DataFrame(columns=[USER, "rank", ITEM, "title", "rating"])
        )

    @staticmethod
    def signature(example: Any, output: Any) -> Any:
        """Both request kinds: `movie` is optional (without it the answer is a top-10 list)."""
        from mlflow.models import ModelSignature
        from mlflow.types import ColSpec, Schema

        return ModelSignature(inputs=Schema([ColSpec("long", USER), ColSpec("long", ITEM, required=False)]))

    @staticmethod
    def pred_from_output(output: Any, pre: Preprocessor) -> np.ndarray:
        return output["rating"].to_numpy(np.float64)


class Recommendation(Task):
    """Rating prediction and top-k ranking for (user, movie) pairs; serves ratings and top-10 lists."""

    serving = RecommendationServing

    DATA_PLOTS = {
        "hit_rate.json": {
            "template": "linear",
            "x": "k",
            "y": ["model", "biases", "most_popular"],
            "title": "HR@k: relevant test movies vs sampled negatives",
            "x_label": "k",
            "y_label": "HR@k",
        }
    }

    EXPLAIN_PLOTS = {
        "neighbours.json": {
            "template": "bar_horizontal",
            "x": "similarity",
            "y": "pair",
            "title": "Nearest movies in the learned embedding space (cosine similarity)",
        }
    }
    EXPLAIN_MOVIES, EXPLAIN_NEIGHBOURS, EXPLAIN_MIN_RATINGS = 5, 5, 20  # queries, neighbours each, candidates' ratings

    def __init__(
        self,
        k: int = 10,
        relevant_from: float = 4.0,
        bias_reg: float = 5.0,
        bias_iterations: int = 10,
        curve_k: int = 20,
        als: dict[str, Any] | None = None,
        seed: int = 0,
    ):
        self.als, self.seed = dict(als) if als else None, seed  # ALS: factors, regs (the val grid), iterations
        self.k, self.relevant_from = k, relevant_from  # cut-off of HR/NDCG; ratings that count as relevant
        self.bias_reg, self.bias_iterations = (
            bias_reg,
            bias_iterations,
        )  # biases baseline: L2 strength, alternating passes
        self.curve_k = curve_k  # HR@k plot runs k = 1..curve_k
        self.metric_names = ["rmse", "mae", f"hr_at_{k}", f"ndcg_at_{k}"]

    def serving_input(self, data: Prepared) -> pd.DataFrame:
        extras = data.extras()
        negatives = pd.DataFrame({USER: extras[RANK_USER], ITEM: extras[RANK_ITEM]})
        return pd.concat([data.raw("test"), negatives], ignore_index=True)

    def reference(self, data: Prepared) -> np.ndarray:
        """(n, 2): the rating (NaN for sampled negatives) and the user id of every request row."""
        requests = self.serving_input(data)
        ratings = np.r_[data.targets("test"), np.full(len(requests) - len(data.raw("test")), np.nan)]
        return np.stack([ratings, requests[USER].to_numpy(np.float64)], 1)

    def strata(self, data: Prepared) -> np.ndarray:
        """Rated rows vs negatives: every bootstrap resample keeps the number of test ratings."""
        return np.isfinite(self.reference(data)[:, 0]).astype(np.int64)

    def metric(self, name: str, pred: np.ndarray, ref: np.ndarray) -> float:
        rating, score = _parts(pred)
        rated = np.isfinite(ref[:, 0])
        if name in ("rmse", "mae"):
            p, t = torch.as_tensor(rating[rated]), torch.as_tensor(ref[rated, 0])
            return round(
                float(mean_squared_error(p, t, squared=False) if name == "rmse" else mean_absolute_error(p, t)), 6
            )
        kind, _, k = name.partition("_at_")
        return ranking(kind, score, ref[:, 0], ref[:, 1].astype(np.int64), int(k), self.relevant_from)

    def baselines(self, data: Prepared) -> dict[str, np.ndarray]:
        pre = data.preprocessor()
        (x, _), t = data.arrays("train"), data.targets("train")
        req = pre.transform(self.serving_input(data))
        n_users, n_items = len(pre.users) + 1, len(pre.items) + 1
        user_counts, item_counts = np.bincount(x[:, 0], minlength=n_users), np.bincount(x[:, 1], minlength=n_items)
        bu, bi = np.zeros(n_users), np.zeros(n_items)
        for _ in range(self.bias_iterations):  # each pass: exact ridge update of one side given the other
            bi = np.bincount(x[:, 1], t - pre.mean - bu[x[:, 0]], n_items) / (item_counts + self.bias_reg)
            bu = np.bincount(x[:, 0], t - pre.mean - bi[x[:, 1]], n_users) / (user_counts + self.bias_reg)
        item_only = np.bincount(x[:, 1], t - pre.mean, n_items) / (item_counts + self.bias_reg)
        out = {
            "biases": pre.inverse_target(bu[req[:, 0]] + bi[req[:, 1]]),
            "most_popular": np.stack(
                [pre.inverse_target(item_only[req[:, 1]]), item_counts[req[:, 1]].astype(np.float64)], 1
            ),
        }
        if self.als:
            with self.timer("als"):
                tables = self._als(data, x, t - pre.mean, n_users, n_items)
            out["als"] = pre.inverse_target(als.predict(*tables, req[:, 0], req[:, 1]))
        return out

    def _als(self, data: Prepared, x: np.ndarray, centred: np.ndarray, n_users: int, n_items: int):
        """ALS fitted on train for each L2 strength of the grid; the one with the lowest val RMSE."""
        pre, xv, tv = data.preprocessor(), data.arrays("val")[0], data.targets("val")
        best, best_rmse = None, np.inf
        for reg in self.als["regs"]:
            tables = als.fit(
                x[:, 0], x[:, 1], centred, n_users, n_items, self.als["factors"], reg, self.als["iterations"], self.seed
            )
            rmse = float(np.sqrt(np.mean((pre.inverse_target(als.predict(*tables, xv[:, 0], xv[:, 1])) - tv) ** 2)))
            if rmse < best_rmse:
                best, best_rmse = tables, rmse
        return best

    def explain(self, net: torch.nn.Module, data: Prepared, out: Path) -> None:
        """The nearest movies to the most-rated ones by the cosine of their learned embeddings (candidates:
        movies with at least EXPLAIN_MIN_RATINGS train ratings, whose embeddings the data has shaped)."""
        pre, x = data.preprocessor(), data.arrays("train")[0]
        counts = np.bincount(x[:, 1], minlength=len(pre.items) + 1)
        candidates = np.flatnonzero(counts >= self.EXPLAIN_MIN_RATINGS)
        vectors = net.item.weight.detach().double().numpy()[candidates]
        queries = np.argsort(-counts[candidates], kind="stable")[: self.EXPLAIN_MOVIES]
        titles = np.asarray(["", *pre.titles], dtype=object)  # embedding row i is movie i - 1 (0: padding)
        name = lambda i: titles[candidates[i]] or str(pre.items[candidates[i] - 1])  # noqa: E731
        rows = [
            {"movie": name(q), "rank": r + 1, "neighbour": name(n), "similarity": sim, "pair": f"{name(q)} → {name(n)}"}
            for q, found in zip(queries, ex.nearest(vectors, queries, self.EXPLAIN_NEIGHBOURS))
            for r, (n, sim) in enumerate(found)
        ]
        plot_data.write_rows(out / "neighbours.json", rows)
        (out / "neighbours.md").write_text(
            "# Nearest movies in the embedding space\n\n"
            + ex.markdown_table(
                ["movie", "rank", "neighbour", "similarity"], [[r[k] for k in list(r)[:4]] for r in rows]
            )
        )
        headline = (
            f"{rows[0]['movie']} sits next to {rows[0]['neighbour']} (cosine {rows[0]['similarity']:.2f})"
            if rows
            else f"fewer than two movies have {self.EXPLAIN_MIN_RATINGS} train ratings: no neighbours to compare"
        )
        ex.write_summary(out, headline, movies=len(queries))

    def plot_data(self, preds: dict[str, np.ndarray], data: Prepared, out: Path) -> None:
        """hit_rate.json: HR@k of every method for k = 1..curve_k."""
        ref = self.reference(data)
        ks, users = np.arange(1, self.curve_k + 1), ref[:, 1].astype(np.int64)
        hr = {
            name: np.array([ranking("hr", _parts(p)[1], ref[:, 0], users, int(k), self.relevant_from) for k in ks])
            for name, p in preds.items()
        }
        plot_data.write_rows(out / "hit_rate.json", plot_data.columns("k", ks, hr))

    def plots(self, preds: dict[str, np.ndarray], data: Prepared, out: Path) -> None:
        """calibration.png (mean actual vs predicted rating) and hit_rate.png (HR@k, k = 1..curve_k)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ref = self.reference(data)
        rated = np.isfinite(ref[:, 0])
        edges = np.arange(0.25, 5.5, 0.5)
        fig, ax = plt.subplots(figsize=(5, 4))
        for name, p in preds.items():
            rating = _parts(p)[0][rated]
            bins = np.digitize(rating, edges)
            keep = [b for b in np.unique(bins) if (bins == b).sum() >= 20]  # bins with too few rows are noise
            ax.plot(
                [rating[bins == b].mean() for b in keep],
                [ref[rated, 0][bins == b].mean() for b in keep],
                "o-",
                label=name,
            )
        ax.plot([0.5, 5], [0.5, 5], "k:", lw=1)
        ax.set(xlabel="mean predicted rating", ylabel="mean actual rating", title="Calibration (test ratings)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "calibration.png", dpi=100)
        plt.close(fig)

        ks = range(1, self.curve_k + 1)
        users = ref[:, 1].astype(np.int64)
        fig, ax = plt.subplots(figsize=(5, 4))
        for name, p in preds.items():
            ax.plot(ks, [ranking("hr", _parts(p)[1], ref[:, 0], users, k, self.relevant_from) for k in ks], label=name)
        ax.set(
            xlabel="k",
            ylabel="HR@k",
            xticks=list(ks)[::2],
            title=f"HR@k: test movies rated >= {self.relevant_from:g} vs negatives",
        )
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "hit_rate.png", dpi=100)
        plt.close(fig)
