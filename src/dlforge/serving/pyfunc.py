"""A pyfunc that takes raw inputs (feature columns, pixel arrays, texts, ids, seeds) and answers them.

Artifacts: `net` (dlforge.models.export file), `preprocess` (fitted preprocessor JSON) and
`task` (a JSON naming the family's Serving class, dlforge.tasks.base, whose `serve` turns requests into outputs).

What a request may look like is checked here, by the preprocessor, not by MLflow's schema
enforcement: `servable_signature` declares named columns as `Any` and optional and image shapes
without fixed sizes, so an integer column where the model computes in floats (a table read with
`pd.read_csv`, integer JSON values) is cast safely by the preprocessor (`pd.to_numeric`, refusing
anything that is not a finite number), extra columns (the target, an id) are ignored, and every
refusal is one short reason naming the column and row. Bad requests raise RequestError
(INVALID_PARAMETER_VALUE: HTTP 400 with a JSON body `{"error_code": ..., "message": reason}`),
whose message stays the reason even where MLflow's scoring server prefixes a dump of the input.
Gaps (NaN, None, JSON null) and categories never seen in train are handled as prepare handled them
(data.missing, data.unknown_categories: dlforge.data.preprocess); a request that had any gets one
log line counting them per column (logger `dlforge.serving`).
"""

from __future__ import annotations

import logging
from typing import Any

import mlflow.models
import mlflow.pyfunc
import numpy as np
from hydra.utils import get_class
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

from dlforge import class_names
from dlforge.data.preprocess import from_state
from dlforge.data.report import request_line
from dlforge.errors import UserError
from dlforge.io import read_json
from dlforge.models.export import load_net

log = logging.getLogger("dlforge.serving")


class RequestError(MlflowException):
    """A refused request: HTTP 400 whose message is only the reason (one line, no dump of the input)."""

    def __init__(self, reason: str):
        self._reason = reason
        super().__init__(reason, error_code=INVALID_PARAMETER_VALUE)

    @property
    def message(self) -> str:  # type: ignore[override]
        return self._reason

    @message.setter
    def message(self, value: str) -> None:
        """MLflow's scoring server rewrites the message to 'Failed to predict data <the whole input>…': keep the reason."""


def servable_signature(signature: Any) -> Any:
    """The logged signature with named columns `Any` and optional, and image sizes left open (-1).

    The names and the order stay documented in the MLflow UI; types, required columns and shapes are
    checked (and integers cast) by the preprocessor, with one short reason per refusal.
    """
    from mlflow.models import ModelSignature
    from mlflow.types.schema import AnyType, ColSpec, Schema, TensorSpec

    inputs = signature.inputs
    if inputs is None:
        return signature
    specs = inputs.inputs
    if all(isinstance(c, ColSpec) and c.name is not None for c in specs):
        inputs = Schema([ColSpec(AnyType(), c.name, required=False) for c in specs])
    elif all(isinstance(c, TensorSpec) and len(c.shape) >= 3 for c in specs):  # images: (n, H, W)
        inputs = Schema([TensorSpec(c.type, (-1,) * len(c.shape), c.name) for c in specs])
    # 2-d tensors (forecast windows) keep their width: MLflow maps a table's columns onto it
    return ModelSignature(inputs, signature.outputs, signature.params)


def _no_rows(model_input: Any) -> bool:
    """An empty request. A table without any of the model's columns is left to the preprocessor
    (MLflow drops unknown columns first, so that reads "missing column …", naming the first one)."""
    import pandas as pd

    if isinstance(model_input, pd.DataFrame):
        return model_input.shape[1] > 0 and len(model_input) == 0
    if isinstance(model_input, np.ndarray):
        return model_input.size == 0
    return isinstance(model_input, (list, tuple, dict)) and len(model_input) == 0


class DlforgeModel(mlflow.pyfunc.PythonModel):
    _skip_type_hint_validation = True  # the signature comes from a real input example, not type hints

    def load_context(self, context: Any) -> None:
        self.pre = from_state(read_json(context.artifacts["preprocess"]))
        self.net = load_net(context.artifacts["net"])
        self.serving = get_class(class_names.resolve(read_json(context.artifacts["task"])["_target_"]))

    def predict(self, context, model_input, params=None):
        if _no_rows(model_input):
            raise RequestError("input: the request has no rows; expected at least one")
        try:
            out = self.serving.serve(self.net, self.pre, model_input, params)
        except UserError as e:
            raise RequestError(str(e)) from None
        line = request_line(self.pre.counts, len(out))
        if line:
            log.warning(line)
        return out


# Models-from-code: MLflow logs this file and runs it at load time instead of unpickling an object.
mlflow.models.set_model(DlforgeModel())
