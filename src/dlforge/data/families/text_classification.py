"""Text classification data: the raw-review spec and a tokeniser/vocabulary fitted on train only.

The preprocessor is pure Python/numpy and stored as JSON with the model, so a served request is
tokenised exactly as the training texts were. Ids: 0 pads, 1 is any word outside the vocabulary.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from dlforge.data import validate
from dlforge.data.columns import short
from dlforge.data.preprocess import Preprocessor, _Classes, check_policy
from dlforge.data.spec import _Classification
from dlforge.errors import UserError

PAD, UNK = 0, 1
_MARKUP = re.compile(r"<[^>]+>")  # reviews carry HTML line breaks (<br />)
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[!?]")  # words (with "n't", "'s") and the punctuation that carries tone


def tokenize(text: str) -> list[str]:
    """Lower-cased words, markup removed."""
    return _TOKEN.findall(_MARKUP.sub(" ", text).lower())


def check_texts(texts: pd.Series, column: str, where: str, missing: str = "refuse") -> pd.Series:
    """The texts, checked: strings only, naming the column and the first bad row. missing="refuse": a gap
    (NaN, None, JSON null) or a blank text is refused; "impute": a gap is an empty text (and blank is allowed)."""
    frame = texts.to_frame(column)
    frame.attrs = dict(texts.attrs)
    gaps = texts.isna().to_numpy()
    for row, value in enumerate(texts.tolist()):
        if gaps[row] and missing == "refuse":
            raise UserError(f"{where}: {validate.at(frame, row, column)}: missing value (NaN)")
        if not gaps[row] and not isinstance(value, str):
            raise UserError(f"{where}: {validate.at(frame, row, column)}: expected a text, got {short(value)}")
        if not gaps[row] and missing == "refuse" and not value.strip():
            raise UserError(f"{where}: {validate.at(frame, row, column)}: empty text")
    return texts.where(~gaps, "") if gaps.any() else texts


class TextPreprocessor(_Classes, Preprocessor):
    """Raw texts → (n, max_len) int64 word ids, padded with 0 at the end or cut after max_len words."""

    def __init__(self, column: str, vocabulary: list[str], max_len: int, classes: list[Any], missing: str = "refuse"):
        self.column, self.vocabulary, self.max_len, self.classes = column, list(vocabulary), int(max_len), list(classes)
        self.missing = check_policy("missing", missing)  # a missing text: refused, or read as an empty text
        self.ids = {w: i + 2 for i, w in enumerate(self.vocabulary)}

    @classmethod
    def fit(
        cls,
        texts: Iterable[str],
        column: str,
        max_len: int,
        min_freq: int,
        max_vocab: int,
        classes: list[Any],
        missing: str = "refuse",
    ) -> TextPreprocessor:
        """Words seen at least `min_freq` times in the training texts, most frequent first (ties by word)."""
        counts = Counter(w for t in texts for w in tokenize(t))
        ranked = sorted((w for w, n in counts.items() if n >= min_freq), key=lambda w: (-counts[w], w))
        return cls._fitted(column, ranked[:max_vocab], max_len, classes, missing)

    @classmethod
    def _fitted(cls, column: str, vocabulary: list[str], max_len: int, classes: list[Any], missing: str, **more):
        pre = cls(column, vocabulary, max_len, classes, missing=missing, **more)
        pre.fit_report = {"missing": pre.missing}
        return pre

    @property
    def model_args(self) -> dict[str, dict[str, Any]]:
        return {
            "net": {"vocab_size": len(self.vocabulary) + 2, "num_classes": len(self.classes)},
            "module": {"num_classes": len(self.classes)},
        }

    def texts(self, raw: Any) -> pd.Series:
        """The validated texts of a request: a DataFrame with the text column, or a list/array of strings."""
        if isinstance(raw, pd.DataFrame):
            if self.column not in raw.columns and list(raw.columns) == [0]:  # a plain list, as MLflow passes it on
                raw = raw.rename(columns={0: self.column})
            validate.require_columns(raw, [self.column], "input")
            texts = raw[self.column]
        elif isinstance(raw, (str, bytes, dict)) or np.ndim(raw) != 1:
            raise UserError(
                f"input: expected a table with column '{self.column}' or a list of texts, got {type(raw).__name__}"
            )
        else:
            texts = pd.Series(list(raw), dtype=object)
        filled = check_texts(
            texts,
            self.column,
            raw.attrs.get(validate.WHERE, "input") if isinstance(raw, pd.DataFrame) else "input",
            self.missing,
        )
        gaps = int(texts.isna().sum())
        self.set_counts({"imputed": {self.column: gaps} if gaps else {}, "unseen": {}})
        return filled.reset_index(drop=True)

    def transform(self, raw: Any) -> np.ndarray:
        texts = self.texts(raw).tolist()
        out = np.full((len(texts), self.max_len), PAD, dtype=np.int64)
        for row, text in enumerate(texts):
            ids = [self.ids.get(w, UNK) for w in tokenize(text)[: self.max_len]] or [
                UNK
            ]  # no words at all: one unknown
            out[row, : len(ids)] = ids
        return out

    def state(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "vocabulary": self.vocabulary,
            "max_len": self.max_len,
            "classes": self.classes,
            "missing": self.missing,
        }


class TextClassification(_Classification):
    """One free-text column and a class label; binary puts the positive class last.

    With `test_column` (a boolean column, e.g. from rdataset_pair) its True rows are the test split as
    published and validation is carved, stratified, out of the rest: split.test is then unused.
    """

    def __init__(
        self,
        source: Callable[[], pd.DataFrame],
        text: str,
        target: str,
        classes: list[Any],
        max_len: int,
        min_freq: int,
        max_vocab: int,
        test_column: str | None = None,
        missing: str = "impute",
        name: str = "data",
    ):
        super().__init__(source, target, classes, name)
        self.text, self.test_column = text, test_column
        self.missing = check_policy("missing", missing)  # a missing text: read as an empty text, or refused
        self.max_len, self.min_freq, self.max_vocab = max_len, min_freq, max_vocab
        self.feature_columns = [text]

    def validate(self, df: pd.DataFrame) -> None:
        validate.require_columns(
            df, [self.text, self.target, *([self.test_column] if self.test_column else [])], self.name
        )
        check_texts(df[self.text], self.text, self.name, self.missing)
        super().validate(df)
        if self.test_column:
            validate.allowed_values(df, self.test_column, [True, False], self.name)

    def split(self, df: pd.DataFrame, val: float, test: float, seed: int) -> dict[str, np.ndarray]:
        if not self.test_column:
            return super().split(df, val, test, seed)
        self.check_rows(df)
        from sklearn.model_selection import train_test_split

        is_test = df[self.test_column].to_numpy(bool)
        pool = np.flatnonzero(~is_test)
        train, val_idx = train_test_split(
            pool, test_size=round(val * len(pool)), random_state=seed, stratify=self.labels(df)[pool]
        )
        return {"train": np.sort(train), "val": np.sort(val_idx), "test": np.flatnonzero(is_test)}

    def raw(self, df: pd.DataFrame) -> pd.DataFrame:
        """The text column as served, a gap as the empty text it is read as (data.missing=impute)."""
        texts = df[self.text]
        out = texts.astype(object).where(texts.notna(), "").to_frame(self.text)
        out.attrs = {**df.attrs, validate.WHERE: self.name}
        return out

    def train_texts(self, df: pd.DataFrame, train: np.ndarray) -> pd.Series:
        return df[self.text].iloc[train].fillna("")

    def fit(self, df: pd.DataFrame, train: np.ndarray) -> TextPreprocessor:
        return TextPreprocessor.fit(
            self.train_texts(df, train),
            self.text,
            self.max_len,
            self.min_freq,
            self.max_vocab,
            self.classes,
            self.missing,
        )
