"""Text as a bag of word n-grams: the vocabulary of words and word pairs fitted on the train texts only.

Each text becomes the ids of the distinct n-grams it contains (words, then pairs "not good", ...), in
order of first appearance, padded with 0: a set, not a sequence, for bag-of-n-gram networks
(dlforge.models.nets.ngram_bag). The tokeniser is dlforge.data.families.text_classification's; ids 0 and 1 are padding and
unknown as there, and unknown n-grams are one unknown id per text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from dlforge.data.families.text_classification import PAD, UNK, TextClassification, TextPreprocessor, tokenize
from dlforge.errors import UserError


def word_ngrams(words: list[str], n: int) -> list[str]:
    """The words, then every run of 2..n consecutive words joined by a space, in text order."""
    return [" ".join(words[i : i + k]) for k in range(1, n + 1) for i in range(len(words) - k + 1)]


def check_n(n: int) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise UserError(f"config key 'data.ngrams': expected an integer >= 1, got {n!r}")
    return n


class NgramTextPreprocessor(TextPreprocessor):
    """Raw texts → (n, max_len) int64 ids of each text's distinct n-grams, padded with 0 or cut after max_len."""

    def __init__(
        self, column: str, vocabulary: list[str], max_len: int, classes: list[Any], ngrams: int, missing: str = "refuse"
    ):
        super().__init__(column, vocabulary, max_len, classes, missing)
        self.ngrams = check_n(ngrams)

    @classmethod
    def fit(
        cls,
        texts: Iterable[str],
        column: str,
        max_len: int,
        min_freq: int,
        max_vocab: int,
        classes: list[Any],
        ngrams: int = 2,
        missing: str = "refuse",
    ) -> NgramTextPreprocessor:
        """N-grams found in at least `min_freq` training texts, most frequent first (ties by n-gram)."""
        counts = Counter(g for t in texts for g in set(word_ngrams(tokenize(t), check_n(ngrams))))
        ranked = sorted((g for g, k in counts.items() if k >= min_freq), key=lambda g: (-counts[g], g))
        return cls._fitted(column, ranked[:max_vocab], max_len, classes, missing, ngrams=ngrams)

    def transform(self, raw: Any) -> np.ndarray:
        texts = self.texts(raw).tolist()
        out = np.full((len(texts), self.max_len), PAD, dtype=np.int64)
        for row, text in enumerate(texts):
            found = dict.fromkeys(self.ids.get(g, UNK) for g in word_ngrams(tokenize(text), self.ngrams))
            ids = list(found)[: self.max_len] or [UNK]  # no words at all: one unknown
            out[row, : len(ids)] = ids
        return out

    def state(self) -> dict[str, Any]:
        return {**super().state(), "ngrams": self.ngrams}


class NgramTextClassification(TextClassification):
    """TextClassification whose preprocessor is a bag of n-grams (`ngrams`: the longest word run kept)."""

    def __init__(
        self,
        source: Callable[[], pd.DataFrame],
        text: str,
        target: str,
        classes: list[Any],
        max_len: int,
        min_freq: int,
        max_vocab: int,
        ngrams: int = 2,
        test_column: str | None = None,
        missing: str = "impute",
        name: str = "data",
    ):
        super().__init__(source, text, target, classes, max_len, min_freq, max_vocab, test_column, missing, name)
        self.ngrams = check_n(ngrams)

    def fit(self, df: pd.DataFrame, train: np.ndarray) -> NgramTextPreprocessor:
        return NgramTextPreprocessor.fit(
            self.train_texts(df, train),
            *(self.text, self.max_len, self.min_freq, self.max_vocab, self.classes, self.ngrams, self.missing),
        )
