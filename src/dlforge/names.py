"""Stable names for the classes that saved artifacts name: task.json, preprocess.json, model.pt.

An artifact stores `dlforge:<Name>` instead of an import path, and loading resolves the name to where
the class lives today. Moving or renaming a class means editing its line in CLASSES, and champions
saved before the move still load. Dotted import paths pass through (artifacts saved before stable
names, a user's own classes), except the ones listed in MOVED (old path → stable name).
tests/test_names.py checks that every task, preprocessor and network class has a name here.
"""

from __future__ import annotations

from dlforge.errors import UserError

PREFIX = "dlforge:"
CLASSES = {
    # tasks (task.json of a logged model)
    "Classification": "dlforge.tasks.classification.Classification",
    "TextClassification": "dlforge.tasks.text_classification.TextClassification",
    "Regression": "dlforge.tasks.regression.Regression",
    "Forecasting": "dlforge.tasks.forecasting.Forecasting",
    "Recommendation": "dlforge.tasks.recommendation.Recommendation",
    "Generation": "dlforge.tasks.generation.Generation",
    # preprocessors (preprocess.json)
    "TabularPreprocessor": "dlforge.data.preprocess.TabularPreprocessor",
    "ImagePreprocessor": "dlforge.data.preprocess.ImagePreprocessor",
    "GenerationPreprocessor": "dlforge.data.generation.GenerationPreprocessor",
    "RatingsPreprocessor": "dlforge.data.ratings.RatingsPreprocessor",
    "TabularRegressionPreprocessor": "dlforge.data.tabular_regression.TabularRegressionPreprocessor",
    "TextPreprocessor": "dlforge.data.text.TextPreprocessor",
    "NgramTextPreprocessor": "dlforge.data.ngrams.NgramTextPreprocessor",
    "TimeSeriesPreprocessor": "dlforge.data.timeseries.TimeSeriesPreprocessor",
    # networks (model.pt)
    "CNN": "dlforge.models.nets.cnn.CNN",
    "MLP": "dlforge.models.nets.mlp.MLP",
    "WideDeep": "dlforge.models.nets.wide_deep.WideDeep",
    "RNNForecaster": "dlforge.models.nets.rnn_forecaster.RNNForecaster",
    "TextRNN": "dlforge.models.nets.text_rnn.TextRNN",
    "NgramBag": "dlforge.models.nets.ngram_bag.NgramBag",
    "MatrixFactorization": "dlforge.models.nets.matrix_factorization.MatrixFactorization",
    "Generator": "dlforge.models.nets.dcgan.Generator",
}
MOVED: dict[str, str] = {}  # "old.module.Class": "dlforge:Class", for artifacts that stored an import path


def stable(path: str) -> str:
    """The name to store for the class at import path `path` (the path itself if it has none)."""
    for name, where in CLASSES.items():
        if where == path:
            return PREFIX + name
    return path


def resolve(name: str) -> str:
    """The import path of a stored class name (a stable name, a moved path, or a plain path)."""
    name = MOVED.get(name, name)
    if not name.startswith(PREFIX):
        return name
    try:
        return CLASSES[name.removeprefix(PREFIX)]
    except KeyError:
        raise UserError(
            f"class '{name}': no such stable name in dlforge.names (known: {', '.join(sorted(CLASSES))})"
        ) from None
