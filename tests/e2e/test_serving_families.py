"""Every new family's champion over real HTTP (`mlflow models serve`): the request kinds the docs show.

Each use case is trained briefly on a slice into one SQLite store in a temp folder; one server per
model, a real subprocess on 127.0.0.1, always killed. Bad requests must get HTTP 400 with our reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from conftest import register_use_cases
from services import post, serve

pytestmark = pytest.mark.e2e
QUICK = {
    "sunspots": ["trainer.max_epochs=2"],
    "reviews": ["data.max_len=48", "model.net.embed_dim=16", "trainer.max_epochs=1"],
    "digits_gan": ["trainer.max_epochs=1", "data.judge_max_iter=30"],
    "movielens": ["data.max_users=40", "train.batch_size=256", "trainer.max_epochs=2"],
}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("families")
    return register_use_cases(root, QUICK)


@pytest.fixture(params=list(QUICK))
def server(request, store, tmp_path_factory) -> Iterator[tuple[str, str]]:
    log: Path = tmp_path_factory.mktemp("logs") / f"{request.param}.log"
    for url in serve(store, request.param, log):
        yield request.param, url


def frame(columns: list[str], rows: list[list]) -> dict:
    return {"dataframe_split": {"columns": columns, "data": rows}}


def test_family_answers_raw_requests_and_rejects_bad_ones(server):
    use_case, url = server
    if use_case == "sunspots":
        window = [float(v) for v in np.linspace(20, 120, 48)]
        status, body = post(url, {"inputs": [window, window[::-1]]})
        assert status == 200, body
        forecasts = [row["forecast"] for row in body["predictions"]]
        assert len(forecasts) == 2 and all(np.isfinite(forecasts))
        status, body = post(url, {"inputs": [window[:40]]})  # a window of the wrong length
    elif use_case == "reviews":
        status, body = post(
            url, frame(["review"], [["Delicious tea, I buy it every month!"], ["Stale, bland and overpriced."]])
        )
        assert status == 200, body
        rows = body["predictions"]
        assert len(rows) == 2 and all(abs(r["proba_great"] + r["proba_other"] - 1) < 1e-6 for r in rows)
        status, body = post(url, frame(["review"], [["   "]]))  # an empty text
    elif use_case == "digits_gan":
        status, body = post(url, frame(["seed", "label"], [[7, 3], [7, 3], [8, 5]]))
        assert status == 200, body
        images = np.asarray(body["predictions"], dtype=float)
        assert images.shape == (3, 8, 8) and images.min() >= 0 and images.max() <= 16
        assert (
            np.allclose(images[0], images[1], atol=1e-3) and np.abs(images[0] - images[2]).max() > 0.5
        )  # the seed fixes the image
        status, body = post(url, frame(["seed", "label"], [[7, 12]]))  # no such digit
    else:
        status, body = post(url, frame(["user", "movie"], [[1, 31], [1, 1029]]))
        assert status == 200, body
        ratings = [r["rating"] for r in body["predictions"]]
        assert len(ratings) == 2 and all(0.5 <= r <= 5 for r in ratings)
        status, body = post(url, frame(["user"], [[1]]))
        assert status == 200, body
        top = body["predictions"]
        assert (
            len(top) == 10 and len({r["movie"] for r in top}) == 10 and [r["rank"] for r in top] == list(range(1, 11))
        )
        status, body = post(url, frame(["user", "movie"], [["one", 31]]))  # not an integer id: our one-line reason
        assert status == 400 and body["message"] == "input: column 'user' row 0: expected an integer id, got 'one'", (
            body
        )
        return
    assert status == 400 and body["error_code"] == "INVALID_PARAMETER_VALUE", body  # our own one-line reason
