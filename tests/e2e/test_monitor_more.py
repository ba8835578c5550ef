"""`dlforge monitor` works for every other family: text, audio (a folder of WAVs), ratings, generation,
and the BYO tables (classification and regression). Each is trained briefly into one store; its test
split, as a user's batch, gets a verdict, a report and an MLflow run; a family-specific shift is drift.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.io import wavfile

from conftest import CONF, register_use_cases
from dlforge.cli import main
from dlforge.data import prepared as prepared_data
from dlforge.monitor.verdict import EXIT_CODES

pytestmark = pytest.mark.e2e
QUICK = {
    "byo_tabular": ["trainer.max_epochs=3"],
    "byo_tabular_regression": ["trainer.max_epochs=3"],
    "reviews": ["data.max_len=48", "model.net.embed_dim=16", "trainer.max_epochs=1"],
    "movielens": ["data.max_users=40", "train.batch_size=256", "trainer.max_epochs=2"],
    "digits_gan": ["trainer.max_epochs=1", "data.judge_max_iter=30"],
    "speech_digits": [
        "data.source.accents=[en-us,en-gb-x-rp,en-029]",
        "data.source.variants=[m1,m2,m3,m4,m5,f1,f4,Alex,adam,linda]",
        "trainer.max_epochs=2",
        "train.batch_size=32",
    ],
}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("monitor_more")
    uri = register_use_cases(root, QUICK)
    return root, uri


def monitor(capsys, store, use_case: str, batch: Path) -> tuple[int, str, dict]:
    root, uri = store
    capsys.readouterr()
    code = main(["--tracking-uri", uri, "monitor", use_case, str(batch), "--config-dir", str(CONF)])
    out, err = capsys.readouterr()
    folder = root / "reports" / use_case / "monitor" / (batch.name if batch.is_dir() else batch.stem)
    summary = json.loads((folder / "summary.json").read_text()) if (folder / "summary.json").exists() else {}
    return code, out + err, summary


def labelled_test_split(root: Path, use_case: str, column: str) -> pd.DataFrame:
    data = prepared_data.load(root / "data" / use_case)
    t, classes = data.targets("test"), getattr(data.preprocessor(), "classes", None)
    return data.raw("test").assign(**{column: np.asarray(classes, dtype=object)[t] if classes else t})


@pytest.mark.parametrize(
    ("use_case", "column", "metric"),
    [
        ("byo_tabular", "species", "accuracy"),
        ("byo_tabular_regression", "body_mass_g", "rmse"),
        ("reviews", "score", "roc_auc"),
    ],
)
def test_labelled_tables_and_texts_from_the_test_split_are_ok(capsys, store, use_case, column, metric):
    root = store[0]
    path = root / f"{use_case}_test.csv"
    labelled_test_split(root, use_case, column).to_csv(path, index=False)
    code, out, summary = monitor(capsys, store, use_case, path)
    assert code == 0 and summary["verdict"] == "ok", out
    assert summary["labels"]["metric"] == metric and not summary["labels"]["degraded"]


def test_texts_of_unknown_words_drift_on_the_oov_rate(capsys, store):
    root = store[0]
    texts = prepared_data.load(root / "data" / "reviews").raw("test")
    path = root / "gibberish.csv"
    texts.assign(review=[f"zorblax quindle {i} frumious" for i in range(len(texts))]).to_csv(path, index=False)
    code, out, summary = monitor(capsys, store, "reviews", path)
    assert code == EXIT_CODES["drift"] and "oov_rate:" in summary["why"], out


def test_ratings_and_generator_requests_get_a_verdict_and_a_report(capsys, store):
    root = store[0]
    ratings = labelled_test_split(root, "movielens", "rating")
    ratings.to_csv(root / "ratings.csv", index=False)
    code, out, summary = monitor(capsys, store, "movielens", root / "ratings.csv")
    assert code in (0, EXIT_CODES["drift"]) and summary["labels"]["metric"] == "rmse", out
    assert summary["verdict"] == "ok" or "movie" in summary["why"] or "user" in summary["why"], out
    # half of this slice's test movies are rated by no train user: its test split itself is drift on `movie`
    cold = ratings.drop(columns="rating").assign(user=ratings["user"] + 10_000)  # users the model never saw
    cold.to_csv(root / "cold_users.csv", index=False)
    code, out, summary = monitor(capsys, store, "movielens", root / "cold_users.csv")
    assert code == EXIT_CODES["drift"] and "user: " in summary["why"] and "unseen" in summary["why"], out

    requests = pd.DataFrame({"seed": np.arange(200), "label": np.arange(200) % 10})
    requests.to_csv(root / "requests.csv", index=False)
    code, out, summary = monitor(capsys, store, "digits_gan", root / "requests.csv")
    assert code in (0, EXIT_CODES["drift"]) and set(summary) >= {"verdict", "why"}, out
    only_ones = requests.assign(label=1)
    only_ones.to_csv(root / "only_ones.csv", index=False)
    code, out, summary = monitor(capsys, store, "digits_gan", root / "only_ones.csv")
    assert code == EXIT_CODES["drift"] and "label: " in summary["why"], out


def test_a_folder_of_wav_clips_gets_loudness_drift_when_quieter(capsys, store):
    root = store[0]
    data = prepared_data.load(root / "data" / "speech_digits")
    rate = data.preprocessor().sample_rate
    for name, gain in (("clips", 1.0), ("quiet_clips", 0.01)):
        (root / name).mkdir()
        for i, clip in enumerate(data.raw("test")):
            wavfile.write(root / name / f"{i:03d}.wav", rate, (np.clip(clip * gain, -1, 1) * 32767).astype(np.int16))
    code, out, summary = monitor(capsys, store, "speech_digits", root / "clips")
    assert code in (0, EXIT_CODES["drift"]) and summary["rows"] == len(data.raw("test")), out
    code, out, summary = monitor(capsys, store, "speech_digits", root / "quiet_clips")
    assert code == EXIT_CODES["drift"] and "rms_dbfs:" in summary["why"], out
