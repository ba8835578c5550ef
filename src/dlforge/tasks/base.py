"""The contract between a family of use cases and the evaluate/register stages and the served model.

Two classes per family, split by who calls them:

Serving (static: the served model has the network and the fitted preprocessor, not the config; the
class the logged model's task.json names, by its stable name in dlforge.class_names):
    predict(net, pre, raw)          raw inputs → predictions in natural units (probabilities, values, images)
    format_output(pred, pre)        predictions → what the served model returns
    pred_from_output(output, pre)   and back (the gate scores registered models through their pyfunc)
    serve(net, pre, raw, params)    what the pyfunc's predict calls (override for several request kinds,
                                    or for params its signature declares)
    signature(example, output)      the logged model's MLflow signature (default: inferred from the example)

Task (an instance built from conf/task/ for evaluate and register; every input is an argument or a
constructor value from config, so no method needs another called first):
    serving                         its family's Serving class
    serving_input(data)             the raw test requests both evaluate and the gate score
    serving_batches(data)           the same requests in consecutive batches (evaluate and the gate
                                    predict batch by batch, so their memory does not grow with the
                                    test split; default: one batch, serving_input itself)
    reference(data)                 what predictions are compared with (natural-unit test targets)
    baselines(data)                 classical methods fitted on train, predicting the same test requests
                                    (a name starting `floor_` is a reference a perfect model would reach,
                                    reported beside the baselines but never counted as one)
    baseline_args                   the constructor arguments that configure those methods (scikit-learn
                                    estimators from config): only evaluate builds them; register builds
                                    the task without them (`build(node, baselines=False)`: left None)
    baseline_train_rows(data)       train rows the baselines are fitted on (evaluate records it), or None
                                    when they use every train row
    timer                           wall seconds each baseline took to fit (and tune on val), filled by
                                    baselines(); evaluate writes them beside the scores (dlforge.tasks.tuned)
    metric(name, pred, ref)         one metric (the gate recomputes it on bootstrap resamples); its
                                    direction is in dlforge.tasks.directions
    metrics(pred, ref)              every metric evaluate reports
    strata(data)                    labels to stratify the gate's bootstrap on, or None
    plots(preds, data, out)         PNGs (DVC image plots and MLflow artifacts)
    DATA_PLOTS, plot_data(preds, data, out)
                                    the rows behind the figures as JSON, for DVC's interactive plots
                                    ({file: DVC plot properties}; dlforge.tasks.plot_data)
    EXPLAIN_PLOTS, explain(net, data, out)
                                    what the network's test predictions rest on, for a few test rows
                                    (dlforge.tasks.explain: Captum attributions, embedding neighbours):
                                    writes every file of EXPLAIN_PLOTS ({file: DVC plot properties, or
                                    None for an image}) and summary.json ({"headline": one line, ...})
                                    into `out` (reports/<use case>/explain/); deterministic, and cheap
                                    (about a second); a family without one says why in summary.json
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from dlforge.data.prepared import Prepared
from dlforge.data.preprocess import Preprocessor
from dlforge.tasks.tuned import Timer


def forward(net: nn.Module, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """The network's raw outputs for model-ready `x`, in batches, without gradients."""
    t = torch.from_numpy(np.ascontiguousarray(x))
    with torch.inference_mode():
        return np.concatenate([net(b).double().numpy() for b in t.split(batch_size)]) if len(t) else np.zeros((0,))


def join(parts: Sequence[Any]) -> Any:
    """Predictions of consecutive request batches as one: a single batch's as it is, else concatenated rows."""
    return parts[0] if len(parts) == 1 else np.concatenate([np.asarray(p) for p in parts])


class Serving:
    """What the served model calls: static, given the network and the fitted preprocessor."""

    @staticmethod
    def predict(net: nn.Module, pre: Preprocessor, raw: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def format_output(pred: np.ndarray, pre: Preprocessor) -> Any:
        return pred

    @staticmethod
    def pred_from_output(output: Any, pre: Preprocessor) -> np.ndarray:
        return np.asarray(output)

    @classmethod
    def serve(cls, net: nn.Module, pre: Preprocessor, raw: Any, params: dict | None = None) -> Any:
        """`params`: the request's MLflow params, for a family whose signature declares some (speech)."""
        return cls.format_output(cls.predict(net, pre, raw), pre)

    @staticmethod
    def signature(example: Any, output: Any) -> Any:
        from mlflow.models import infer_signature

        return infer_signature(example, output)


class Task:
    """What evaluate and register call: an instance built from conf/task/ (`build`)."""

    serving: type[Serving] = Serving
    baseline_args: tuple[str, ...] = ()  # constructor arguments configuring baselines(): built by evaluate only
    metric_names: list[str] = []
    DATA_PLOTS: dict[str, dict[str, Any]] = {}  # file written by plot_data → its DVC plot properties
    EXPLAIN_PLOTS: dict[str, dict[str, Any] | None] = {}  # file written by explain → DVC plot properties (None: image)

    @cached_property
    def timer(self) -> Timer:
        return Timer()

    def serving_input(self, data: Prepared) -> Any:
        return data.raw("test")

    def serving_batches(self, data: Prepared) -> Iterator[Any]:
        yield self.serving_input(data)

    def baseline_train_rows(self, data: Prepared) -> int | None:
        return None

    def reference(self, data: Prepared) -> np.ndarray:
        return data.targets("test")

    def strata(self, data: Prepared) -> np.ndarray | None:
        return None

    def baselines(self, data: Prepared) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def metric(self, name: str, pred: np.ndarray, ref: np.ndarray) -> float:
        raise NotImplementedError

    def metrics(self, pred: np.ndarray, ref: np.ndarray) -> dict[str, float]:
        return {name: self.metric(name, pred, ref) for name in self.metric_names}

    def plots(self, preds: dict[str, np.ndarray], data: Prepared, out: Path) -> None:
        raise NotImplementedError

    def plot_data(self, preds: dict[str, np.ndarray], data: Prepared, out: Path) -> None:
        """Write every file of DATA_PLOTS into `out` (none by default)."""

    def explain(self, net: nn.Module, data: Prepared, out: Path) -> None:
        """Write every file of EXPLAIN_PLOTS and summary.json into `out`."""
        raise NotImplementedError


def build(node: Any, baselines: bool = True) -> Task:
    """The task of config `node` (conf/task/); without `baselines` its `baseline_args` are None, so
    their estimators are neither imported nor built (register scores no baseline)."""
    from hydra.utils import get_class, instantiate

    unbuilt = {} if baselines else dict.fromkeys(get_class(node._target_).baseline_args)
    return instantiate(node, **unbuilt)


class PointServing(Serving):
    """One value per request in the target's natural units, served as a one-column table."""

    output_column = "prediction"

    @staticmethod
    def predict(net: nn.Module, pre: Preprocessor, raw: Any) -> np.ndarray:
        """Raw requests → the network's scaled outputs → values in the target's own units."""
        return pre.inverse_target(forward(net, pre.transform(raw)).reshape(-1))

    @classmethod
    def format_output(cls, pred: np.ndarray, pre: Preprocessor) -> pd.DataFrame:
        return pd.DataFrame({cls.output_column: pred})

    @classmethod
    def pred_from_output(cls, output: Any, pre: Preprocessor) -> np.ndarray:
        return output[cls.output_column].to_numpy(np.float64)
