"""A family's inputs and predictions as a table of columns, so one drift test fits every family.

Tables keep their own feature columns (numeric or categorical, as the fitted preprocessor knows them);
ids (recommendation) and requested labels (generation) are categorical columns. Other inputs become a
few numbers per row:
    images   mean and std of the pixel intensities
    audio    loudness (RMS and peak, dBFS) of each clip as the model hears it (cut or padded to its length)
    text     words per text and the share of words outside the model's vocabulary (OOV rate)
    series   the window's level (mean), spread (std) and net change (last - first value), of every
             window-th window only: sliding windows overlap, and counting a value 48 times would make
             the two-sample tests as confident as 48 times the data
Predictions: the predicted class and its probability (classifiers), the value (regression, forecasts,
ratings), or the generated images' intensity statistics (generators).
Each summary returns (table, {column: "numeric" | "categorical"}).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dlforge.data.preprocess import Preprocessor
from dlforge.errors import UserError

Kinds = dict[str, str]


def family(pre: Preprocessor) -> str:
    """The input family of a fitted preprocessor: table, images, audio, text, series, ratings or requests."""
    kind = type(pre).__name__
    for name, fam in (
        ("Tabular", "table"),
        ("Image", "images"),
        ("Audio", "audio"),
        ("Text", "text"),
        ("TimeSeries", "series"),
        ("Ratings", "ratings"),
        ("Generation", "requests"),
    ):
        if name in kind:
            return fam
    raise UserError(f"dlforge monitor: no input summary for preprocessor {kind}")


def train_inputs(data: Any, pre: Preprocessor) -> Any:
    """The training split as the served model's requests: its raw inputs, or for a generator the
    requested labels (its raw inputs are the real images it learnt from, not requests)."""
    if family(pre) == "requests":
        return pd.DataFrame({"label": np.asarray(pre.classes, dtype=object)[data.targets("train")]})
    return data.raw("train")


def inputs(raw: Any, pre: Preprocessor) -> tuple[pd.DataFrame, Kinds]:
    """The batch's (or a split's) raw inputs as summary columns."""
    return _INPUTS[family(pre)](raw, pre)


def _table(raw: Any, pre: Any) -> tuple[pd.DataFrame, Kinds]:
    df = raw if isinstance(raw, pd.DataFrame) else pd.DataFrame(raw)
    missing = [c for c in pre.columns if c not in df.columns]
    if missing:
        raise UserError(f"input: missing column '{missing[0]}' (the model reads: {', '.join(pre.columns)})")
    out = pd.DataFrame(index=df.index)
    for c in pre.numeric:
        try:
            out[c] = pd.to_numeric(df[c]).astype("float64")
        except (TypeError, ValueError) as e:
            raise UserError(f"input: column '{c}': expected numbers ({' '.join(str(e).split())[:120]})") from e
    for c in pre.categorical:
        out[c] = df[c].where(df[c].isna(), df[c].astype(str))  # categories compared as strings, as the model does
    kinds = {c: "numeric" for c in pre.numeric} | {c: "categorical" for c in pre.categorical}
    return out.reset_index(drop=True), kinds


def _images(raw: Any, pre: Any) -> tuple[pd.DataFrame, Kinds]:
    a = np.asarray(raw, dtype=np.float64)
    if a.ndim < 2:
        raise UserError(f"input: expected images (n, H, W), got an array of shape {a.shape}")
    flat = a.reshape(len(a), -1)
    return pd.DataFrame({"pixel_mean": flat.mean(1), "pixel_std": flat.std(1)}), dict.fromkeys(
        ("pixel_mean", "pixel_std"), "numeric"
    )


def _audio(raw: Any, pre: Any) -> tuple[pd.DataFrame, Kinds]:
    from dlforge.data.families.audio_classification import fit_length

    clips = [fit_length(c, pre.clip_samples) for c in pre.clips(raw)]
    loud = np.array([np.sqrt(np.mean(np.square(c))) for c in clips])
    peak = np.array([np.max(np.abs(c)) for c in clips])
    table = pd.DataFrame({"rms_dbfs": 20 * np.log10(loud + 1e-9), "peak_dbfs": 20 * np.log10(peak + 1e-9)})
    return table, dict.fromkeys(table.columns, "numeric")


def _text(raw: Any, pre: Any) -> tuple[pd.DataFrame, Kinds]:
    from dlforge.data.families.text_classification import tokenize

    vocabulary = set(pre.vocabulary)
    words = [tokenize(t) for t in pre.texts(raw)]
    oov = [sum(w not in vocabulary for w in ws) / len(ws) if ws else 1.0 for ws in words]
    table = pd.DataFrame({"words": [float(len(ws)) for ws in words], "oov_rate": oov})
    return table, dict.fromkeys(table.columns, "numeric")


def _series(raw: Any, pre: Any) -> tuple[pd.DataFrame, Kinds]:
    w = pre.windows(raw)[:: pre.window]  # sliding windows share values: every window-th one counts each value once
    table = pd.DataFrame({"level": w.mean(1), "spread": w.std(1), "change": w[:, -1] - w[:, 0]})
    return table, dict.fromkeys(table.columns, "numeric")


def _ratings(raw: Any, pre: Any) -> tuple[pd.DataFrame, Kinds]:
    from dlforge.data.families.ratings import ITEM, USER

    df = raw if isinstance(raw, pd.DataFrame) else pd.DataFrame(raw)
    cols = [c for c in (USER, ITEM) if c in df.columns]
    if USER not in cols:
        raise UserError(f"input: missing column '{USER}'")
    table = pd.DataFrame({c: df[c].where(df[c].isna(), df[c].astype(str)) for c in cols}).reset_index(drop=True)
    return table, dict.fromkeys(cols, "categorical")


def _requests(raw: Any, pre: Any) -> tuple[pd.DataFrame, Kinds]:
    df = raw if isinstance(raw, pd.DataFrame) else pd.DataFrame(raw)
    if "label" not in df.columns:
        return pd.DataFrame(index=range(len(df))), {}  # an unconditional generator's requests are seeds only
    return pd.DataFrame({"label": df["label"].astype(str)}).reset_index(drop=True), {"label": "categorical"}


_INPUTS = {
    "table": _table,
    "images": _images,
    "audio": _audio,
    "text": _text,
    "series": _series,
    "ratings": _ratings,
    "requests": _requests,
}


def predictions(pred: np.ndarray, pre: Preprocessor) -> tuple[pd.DataFrame, Kinds]:
    """Predictions in natural units (Serving.pred_from_output) as summary columns."""
    pred = np.asarray(pred, dtype=np.float64)
    classes = getattr(pre, "classes", None)
    if pred.ndim >= 3:  # generated images
        return _images(pred, pre)
    if pred.ndim == 2 and classes:
        labels = np.asarray([str(c) for c in classes], dtype=object)[pred.argmax(1)]
        table = pd.DataFrame({"predicted": labels, "probability": pred.max(1)})
        return table, {"predicted": "categorical", "probability": "numeric"}
    return pd.DataFrame({"prediction": pred.reshape(len(pred), -1)[:, 0]}), {"prediction": "numeric"}
