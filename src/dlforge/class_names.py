"""Stable names for the classes that saved artifacts name: task.json, preprocess.json, model.pt.

An artifact stores `dlforge:<Name>` instead of an import path, and loading resolves the name to where
the class lives today. Moving or renaming a class means editing its line in CLASSES, and champions
saved before the move still load. Dotted import paths pass through (artifacts saved before stable
names, a user's own classes), except the ones listed in MOVED (old path → stable name).
tests/unit/core/test_names.py checks that every task, preprocessor and network class has a name here.
"""

from __future__ import annotations

from dlforge.errors import UserError

PREFIX = "dlforge:"
CLASSES = {
    # the families' Serving classes (task.json of a logged model)
    "ClassificationServing": "dlforge.tasks.classification.ClassificationServing",
    "TextClassificationServing": "dlforge.tasks.text_classification.TextClassificationServing",
    "RegressionServing": "dlforge.tasks.regression.RegressionServing",
    "ForecastingServing": "dlforge.tasks.forecasting.ForecastingServing",
    "RecommendationServing": "dlforge.tasks.recommendation.RecommendationServing",
    "GenerationServing": "dlforge.tasks.generation.GenerationServing",
    "SpeechClassificationServing": "dlforge.tasks.speech_classification.SpeechClassificationServing",
    # preprocessors (preprocess.json)
    "TabularPreprocessor": "dlforge.data.families.tabular_classification.TabularPreprocessor",
    "ImagePreprocessor": "dlforge.data.families.image_classification.ImagePreprocessor",
    "GenerationPreprocessor": "dlforge.data.families.image_generation.GenerationPreprocessor",
    "RatingsPreprocessor": "dlforge.data.families.ratings.RatingsPreprocessor",
    "TabularRegressionPreprocessor": "dlforge.data.families.tabular_regression.TabularRegressionPreprocessor",
    "TextPreprocessor": "dlforge.data.families.text_classification.TextPreprocessor",
    "NgramTextPreprocessor": "dlforge.data.families.ngram_text.NgramTextPreprocessor",
    "TimeSeriesPreprocessor": "dlforge.data.families.timeseries.TimeSeriesPreprocessor",
    "AudioPreprocessor": "dlforge.data.families.audio_classification.AudioPreprocessor",
    # networks (model.pt)
    "CNN": "dlforge.models.nets.cnn.CNN",
    "MLP": "dlforge.models.nets.mlp.MLP",
    "WideDeep": "dlforge.models.nets.wide_deep.WideDeep",
    "RNNForecaster": "dlforge.models.nets.rnn_forecaster.RNNForecaster",
    "TextRNN": "dlforge.models.nets.text_rnn.TextRNN",
    "NgramBag": "dlforge.models.nets.ngram_bag.NgramBag",
    "MatrixFactorization": "dlforge.models.nets.matrix_factorization.MatrixFactorization",
    "Generator": "dlforge.models.nets.dcgan.Generator",
    "SpeechCNN": "dlforge.models.nets.speech_cnn.SpeechCNN",
    "TabMNet": "dlforge.models.nets.tabm.TabMNet",
}
MOVED: dict[str, str] = {  # an old stored name → its stable name today (artifacts saved before a move)
    "dlforge:Classification": "dlforge:ClassificationServing",  # task classes served and evaluated until the Serving split
    "dlforge:TextClassification": "dlforge:TextClassificationServing",  # task classes served and evaluated until the Serving split
    "dlforge:Regression": "dlforge:RegressionServing",  # task classes served and evaluated until the Serving split
    "dlforge:Forecasting": "dlforge:ForecastingServing",  # task classes served and evaluated until the Serving split
    "dlforge:Recommendation": "dlforge:RecommendationServing",  # task classes served and evaluated until the Serving split
    "dlforge:Generation": "dlforge:GenerationServing",  # task classes served and evaluated until the Serving split
    "dlforge.tasks.classification.Classification": "dlforge:ClassificationServing",  # an import path stored before stable names
    "dlforge.tasks.text_classification.TextClassification": "dlforge:TextClassificationServing",  # an import path stored before stable names
    "dlforge.tasks.regression.Regression": "dlforge:RegressionServing",  # an import path stored before stable names
    "dlforge.tasks.forecasting.Forecasting": "dlforge:ForecastingServing",  # an import path stored before stable names
    "dlforge.tasks.recommendation.Recommendation": "dlforge:RecommendationServing",  # an import path stored before stable names
    "dlforge.tasks.generation.Generation": "dlforge:GenerationServing",  # an import path stored before stable names
    "dlforge.data.preprocess.TabularPreprocessor": "dlforge:TabularPreprocessor",  # an import path stored before stable names, before data/families/
    "dlforge.data.preprocess.ImagePreprocessor": "dlforge:ImagePreprocessor",  # an import path stored before stable names, before data/families/
    "dlforge.data.generation.GenerationPreprocessor": "dlforge:GenerationPreprocessor",  # an import path stored before stable names, before data/families/
    "dlforge.data.ratings.RatingsPreprocessor": "dlforge:RatingsPreprocessor",  # an import path stored before stable names, before data/families/
    "dlforge.data.tabular_regression.TabularRegressionPreprocessor": "dlforge:TabularRegressionPreprocessor",  # an import path stored before stable names, before data/families/
    "dlforge.data.text.TextPreprocessor": "dlforge:TextPreprocessor",  # an import path stored before stable names, before data/families/
    "dlforge.data.ngrams.NgramTextPreprocessor": "dlforge:NgramTextPreprocessor",  # an import path stored before stable names, before data/families/
    "dlforge.data.timeseries.TimeSeriesPreprocessor": "dlforge:TimeSeriesPreprocessor",  # an import path stored before stable names, before data/families/
    "dlforge.data.audio.AudioPreprocessor": "dlforge:AudioPreprocessor",  # an import path stored before stable names, before data/families/
}


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
            f"class '{name}': no such stable name in dlforge.class_names (known: {', '.join(sorted(CLASSES))})"
        ) from None
