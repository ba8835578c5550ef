"""Text sentiment: the food-review use case and the bring-your-own text CSV through the real stages."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
import torch

from conftest import ROOT
from dlforge.data.families.ngram_text import NgramTextPreprocessor, word_ngrams
from dlforge.data.families.text_classification import UNK, tokenize
from dlforge.data.preprocess import from_state
from dlforge.errors import UserError
from dlforge.models.nets.text_rnn import TextRNN
from pipelines import evaluate, prepare, register, train

BYO = ROOT / "examples/byo/reviews.csv"
# Small shapes and one or two epochs: the pipeline's behaviour, not the full use case's quality.
QUICK = ["data.max_len=48", "model.net.embed_dim=16", "callbacks.progress_bar=null"]  # reviews: n-gram bag
QUICK_RNN = ["data.max_len=48", "model.net.hidden=16", "model.net.embed_dim=32", "callbacks.progress_bar=null"]


def test_tokeniser_and_vocabulary_come_from_train_only(make_cfg, tmp_path):
    sizes = prepare.run(make_cfg("experiment=reviews", *QUICK))
    assert sizes == {"train": 3400, "val": 600, "test": 1000}  # the published test table; val carved from training_data
    out = tmp_path / "data/reviews"
    pre = from_state(json.loads((out / "preprocess.json").read_text()))
    assert isinstance(pre, NgramTextPreprocessor) and pre.ngrams == 2
    train_raw, test_raw = pd.read_parquet(out / "train_raw.parquet"), pd.read_parquet(out / "test_raw.parquet")
    assert list(test_raw.columns) == ["review"]
    train_grams = {g for t in train_raw.review for g in word_ngrams(tokenize(t), 2)}
    assert set(pre.vocabulary) <= train_grams and any(" " in g for g in pre.vocabulary)  # words and word pairs
    train_words = {w for t in train_raw.review for w in tokenize(t)}
    only_in_test = sorted({w for t in test_raw.review for w in tokenize(t)} - train_words)
    assert only_in_test and only_in_test[0] not in pre.vocabulary
    assert pre.transform([f"great {only_in_test[0]}"])[0, 1] == UNK
    f = {a: np.load(out / f"test_{a}.npy") for a in "xyt"}  # the prepared arrays (dlforge.data.prepared)
    assert f["x"].shape == (1000, 48) and f["x"].dtype == np.int64
    assert (f["x"] == pre.transform(test_raw)).all()  # serving tokenises exactly as prepare did


def test_padding_does_not_change_the_prediction():
    torch.manual_seed(0)
    net = TextRNN(vocab_size=20, num_classes=2, embed_dim=8, hidden=8).eval()
    ids = torch.tensor([[5, 6, 7, 0, 0, 0, 0, 0], [3, 4, 5, 6, 7, 8, 9, 10]])
    assert torch.allclose(net(ids)[:1], net(ids[:1, :3]), atol=1e-6)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda df: df.drop(columns="text"), "missing column 'text'"),
        (lambda df: df.assign(text=df.text.where(df.index != 7, None)), "line 9, column 'text': missing value"),
        (lambda df: df.assign(text=df.text.where(df.index != 3, "   ")), "line 5, column 'text': empty text"),
        (
            lambda df: df.assign(label=df.label.where(df.index != 5, "meh")),
            "line 7, column 'label': value 'meh' is not one of",
        ),
    ],
)
def test_bad_text_data_fails_naming_column_and_row(make_cfg, tmp_path, edit, message):
    path = tmp_path / "bad.csv"
    edit(pd.read_csv(BYO)).to_csv(path, index=False)
    with pytest.raises(UserError, match=message):
        prepare.run(make_cfg("experiment=byo_text", f"data.source.path={path}", "data.missing=refuse"))


@pytest.mark.slow  # trains on the real reviews
def test_reviews_end_to_end_serves_raw_strings(make_cfg, tmp_path):
    cfg = make_cfg("experiment=reviews", *QUICK, "trainer.max_epochs=2", "train.batch_size=128")
    prepare.run(cfg)
    train.run(cfg)
    metrics = evaluate.run(cfg)
    assert {"accuracy", "f1_macro", "roc_auc"} <= metrics["model"].keys()
    assert metrics["model"].keys() == metrics["baseline"].keys() - {"fit_seconds"}
    assert metrics["word_char_tfidf"]["roc_auc"] > 0.8 and metrics["word_char_tfidf"]["fit_seconds"] > 0
    assert metrics["baseline"]["roc_auc"] > 0.83  # TF-IDF + logistic regression on the raw texts
    assert metrics["model"]["roc_auc"] > 0.6  # two short epochs already learn something
    assert {"roc.png", "pr.png", "confusion.png"} <= {p.name for p in (tmp_path / "reports/reviews/plots").iterdir()}
    assert register.run(cfg)["promoted"]

    mlflow.set_tracking_uri(cfg.tracking.uri)
    model = mlflow.pyfunc.load_model("models:/reviews@champion")
    texts = [
        "Absolutely delicious, the best coffee I have had. Great price too!",
        "Stale, tasteless and overpriced. Do not buy.",
    ]
    table = model.predict(pd.DataFrame({"review": texts}))
    assert list(table.columns) == ["label", "proba_other", "proba_great"] and np.allclose(
        table[["proba_other", "proba_great"]].sum(axis=1), 1
    )
    assert table.equals(model.predict(texts))  # a plain list of strings works too
    with pytest.raises(mlflow.exceptions.MlflowException, match="column 'review' row 1: empty text"):
        model.predict(pd.DataFrame({"review": ["fine", ""]}))


def test_byo_text_csv_end_to_end_is_deterministic(make_cfg):
    cfg = make_cfg(
        "experiment=byo_text", "data=text_csv_sequence", "model=text_rnn", *QUICK_RNN, "trainer.max_epochs=3"
    )
    assert prepare.run(cfg) == {"train": 28, "val": 6, "test": 6}
    first = train.run(cfg)
    assert train.run(cfg) == first  # same seed, same CPU run
    evaluate.run(cfg)
    assert register.run(cfg)["champion_version"] == 1

    mlflow.set_tracking_uri(cfg.tracking.uri)
    model = mlflow.pyfunc.load_model("models:/byo_text@champion")
    out = model.predict(["Delicious and fresh, love it", "Stale and bland"])
    assert set(out["label"]) <= {"negative", "positive"} and len(out) == 2
    with pytest.raises(mlflow.exceptions.MlflowException, match="missing column 'text'"):
        model.predict(pd.DataFrame({"review": ["nice"], "stars": ["5"]}))
