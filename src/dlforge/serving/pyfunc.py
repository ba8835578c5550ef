"""A pyfunc that takes raw inputs (feature columns, pixel arrays, texts, ids, seeds) and answers them.

Artifacts: `net` (dlforge.models.checkpoint file), `preprocess` (fitted preprocessor JSON) and
`task` (a JSON naming the task class whose `serve` turns requests into outputs). Bad requests raise
MlflowException with INVALID_PARAMETER_VALUE, which the scoring server answers with HTTP 400.
"""

from __future__ import annotations

from typing import Any

import mlflow.models
import mlflow.pyfunc
from hydra.utils import get_class
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

from dlforge import names
from dlforge.data.preprocess import from_state
from dlforge.errors import UserError
from dlforge.io import read_json
from dlforge.models.checkpoint import load_net


class DlforgeModel(mlflow.pyfunc.PythonModel):
    _skip_type_hint_validation = True  # the signature comes from a real input example, not type hints

    def load_context(self, context: Any) -> None:
        self.pre = from_state(read_json(context.artifacts["preprocess"]))
        self.net = load_net(context.artifacts["net"])
        self.task = get_class(names.resolve(read_json(context.artifacts["task"])["_target_"]))

    def predict(self, context, model_input, params=None):
        try:
            return self.task.serve(self.net, self.pre, model_input)
        except UserError as e:
            raise MlflowException(str(e), error_code=INVALID_PARAMETER_VALUE) from e


# Models-from-code: MLflow logs this file and runs it at load time instead of unpickling an object.
mlflow.models.set_model(DlforgeModel())
