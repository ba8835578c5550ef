"""The n-gram bag (reviews) and the wide-and-deep tabular net (credit_default) on tiny in-memory data."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from dlforge.data.families.ngram_text import NgramTextPreprocessor, word_ngrams
from dlforge.data.families.text_classification import PAD, UNK
from dlforge.errors import UserError
from dlforge.models.classifier import Classifier
from dlforge.models.nets.ngram_bag import NgramBag
from dlforge.models.nets.wide_deep import WideDeep

TRAIN = ["not good at all", "good tea", "very good tea", "not good tea", "bad and not good", "good good"]
LABELS = torch.tensor([0, 1, 1, 0, 0, 1])


def _pre(**kw) -> NgramTextPreprocessor:
    args = {"max_len": 12, "min_freq": 1, "max_vocab": 100, "classes": ["other", "great"], "ngrams": 2, **kw}
    return NgramTextPreprocessor.fit(TRAIN, "review", **args)


def test_ngrams_are_words_then_word_runs():
    assert word_ngrams(["a", "b", "c"], 2) == ["a", "b", "c", "a b", "b c"]
    assert word_ngrams(["a", "b", "c"], 3)[-1] == "a b c" and word_ngrams(["a"], 2) == ["a"]


def test_vocabulary_is_fitted_on_train_texts_only_and_unknowns_share_one_id():
    pre = _pre(min_freq=2)
    assert pre.vocabulary[0] == "good" and "not good" in pre.vocabulary and "bad and" not in pre.vocabulary
    ids = pre.transform(["good tea unseen words here"])[0]
    assert ids[:2].tolist() == [pre.ids["good"], pre.ids["tea"]] and (ids == UNK).sum() == 1
    assert (ids[ids != PAD].size, ids.shape) == (len(set(ids[ids != PAD].tolist())), (12,))


def test_bag_is_cut_after_max_len_and_takes_a_table_or_a_list():
    pre = _pre(max_len=3)
    table = pre.transform(pd.DataFrame({"review": ["very good tea", "bad"]}))
    assert table.shape == (2, 3) and table[0].tolist() == [pre.ids[w] for w in ("very", "good", "tea")]
    assert (table == pre.transform(["very good tea", "bad"])).all()
    with pytest.raises(UserError, match="empty text"):
        pre.transform(["fine", " "])
    with pytest.raises(UserError, match="data.ngrams"):
        _pre(ngrams=0)


def test_bag_shape_padding_and_determinism():
    pre = _pre()
    ids = torch.from_numpy(pre.transform(TRAIN))
    torch.manual_seed(0)
    net = NgramBag(len(pre.vocabulary) + 2, 2, embed_dim=8).eval()
    out = net(ids)
    assert out.shape == (len(TRAIN), 2)
    n = int((ids[0] != PAD).sum())
    assert n < ids.shape[1] and torch.allclose(net(ids[:1, :n]), out[:1], atol=1e-6)  # padding does not count
    torch.manual_seed(0)
    assert torch.equal(NgramBag(len(pre.vocabulary) + 2, 2, embed_dim=8).eval()(ids), out)


def test_wide_part_starts_from_naive_bayes_log_count_ratios():
    pre = _pre()
    ids = torch.from_numpy(pre.transform(TRAIN))
    net = NgramBag(len(pre.vocabulary) + 2, 2, embed_dim=4)
    assert not net.embed.weight[:, 4:].any()  # zero until fitted
    net.init_from_train(ids, LABELS)
    wide = net.embed.weight[:, 4:]
    diff = wide[:, 1] - wide[:, 0]  # the class-1 logit minus the class-0 logit each n-gram adds
    assert diff[pre.ids["tea"]] > 0 > diff[pre.ids["not good"]] and not wide[[PAD, UNK]].any()
    # "good" is in every text but one (each class's texts equally often, shares aside): small either way
    assert abs(diff[pre.ids["good"]]) < abs(diff[pre.ids["not good"]])
    frozen = NgramBag(len(pre.vocabulary) + 2, 2, embed_dim=4, nb_init=False)
    frozen.init_from_train(ids, LABELS)
    assert not frozen.embed.weight[:, 4:].any()


def test_classifier_setup_initialises_from_the_whole_train_split():
    class Data:
        train = (torch.from_numpy(_pre().transform(TRAIN)), LABELS)

    net = NgramBag(len(_pre().vocabulary) + 2, 2, embed_dim=4)
    module = Classifier(net, torch.optim.AdamW, num_classes=2)
    module.trainer = type("T", (), {"datamodule": Data()})()
    module.setup("validate")
    assert not net.embed.weight[:, 4:].any()  # only before fitting
    module.setup("fit")
    assert net.embed.weight[:, 4:].any()


def test_wide_deep_shape_prior_and_linear_part():
    torch.manual_seed(0)
    net = WideDeep([3], 2, hidden=[4], dropout=0.0)
    x, y = torch.randn(10, 3), torch.tensor([0] * 9 + [1])
    assert net(x).shape == (10, 2)
    net.init_from_train(x, y)
    assert torch.allclose(net.wide[1].bias, torch.tensor([10 / 12, 2 / 12]).log())  # add-one smoothed shares
    assert not net.deep[-1].bias.any()
    with torch.no_grad():
        net.deep[-1].weight.zero_()  # the deep part silent: exactly a linear (logistic-regression) logit
    assert torch.allclose(net(x), net.wide(x))
