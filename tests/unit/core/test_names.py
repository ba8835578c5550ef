"""Saved artifacts name classes by stable names (dlforge.class_names): moving a class does not break them."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import types

import pandas as pd
import pytest
import torch
import yaml
from hydra.utils import get_class

import dlforge.data
import dlforge.tasks
from conftest import CONF
from dlforge import class_names
from dlforge.data.families.tabular_classification import TabularPreprocessor
from dlforge.data.preprocess import Preprocessor, from_state
from dlforge.errors import UserError
from dlforge.io import read_json, write_json
from dlforge.models.export import load_net, save_net
from dlforge.serving.pyfunc import DlforgeModel
from dlforge.tasks.base import Serving


def _subclasses(package, base) -> set[str]:
    found = set()
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, base) and cls.__module__ == module.__name__ and not cls.__name__.startswith("_"):
                found.add(f"{cls.__module__}.{cls.__qualname__}")
    return found


def test_every_saved_class_has_a_stable_name_that_imports():
    nets = {yaml.safe_load(p.read_text())["net"]["_target_"] for p in (CONF / "model").glob("*.yaml")}
    tasks = _subclasses(dlforge.tasks, Serving) - {"dlforge.tasks.base.Serving", "dlforge.tasks.base.PointServing"}
    preprocessors = _subclasses(dlforge.data, Preprocessor) - {"dlforge.data.preprocess.Preprocessor"}
    missing = sorted(
        p for p in nets | tasks | preprocessors if not class_names.stable(p).startswith(class_names.PREFIX)
    )
    assert not missing, f"add these to dlforge.class_names.CLASSES: {missing}"
    for name, path in class_names.CLASSES.items():
        assert get_class(path).__name__ == name.split(".")[-1]


@pytest.fixture
def moved(monkeypatch):
    """MLP, TabularPreprocessor and ClassificationServing moved to another module; their old homes lose them."""
    module = types.ModuleType("relocated_classes")
    monkeypatch.setitem(sys.modules, "relocated_classes", module)
    for name in ("MLP", "TabularPreprocessor", "ClassificationServing"):
        old = class_names.CLASSES[name]
        home, _, attr = old.rpartition(".")
        setattr(module, name, get_class(old))
        monkeypatch.delattr(importlib.import_module(home), attr)
        monkeypatch.setitem(class_names.CLASSES, name, f"relocated_classes.{name}")
    return module


def _artifacts(tmp_path):
    from dlforge.models.nets.mlp import MLP

    net_config = {"_target_": "dlforge.models.nets.mlp.MLP", "in_shape": [4], "num_classes": 2, "hidden": [4]}
    torch.manual_seed(0)
    net = MLP([4], 2, [4])
    save_net(tmp_path / "model.pt", net_config, net)
    raw = pd.DataFrame({"a": [0.0, 1.0, 2.0], "b": [1.0, 0.0, 1.0], "c": ["x", "y", "x"]})
    pre = TabularPreprocessor.fit(raw, ["a", "b"], ["c"], ["neg", "pos"])
    write_json(tmp_path / "preprocess.json", pre.to_state())
    write_json(
        tmp_path / "task.json", {"_target_": class_names.stable("dlforge.tasks.classification.ClassificationServing")}
    )
    return net, raw


def test_artifacts_saved_before_a_move_load_after_it(tmp_path, request):
    net, raw = _artifacts(tmp_path)
    assert torch.load(tmp_path / "model.pt", weights_only=True)["net"]["_target_"] == "dlforge:MLP"
    expected = net.eval()(torch.from_numpy(from_state(read_json(tmp_path / "preprocess.json")).transform(raw)))
    relocated = request.getfixturevalue("moved")
    loaded = load_net(tmp_path / "model.pt")
    assert type(loaded) is relocated.MLP
    model = DlforgeModel()
    model.load_context(
        types.SimpleNamespace(
            artifacts={
                k: str(tmp_path / f)
                for k, f in (("net", "model.pt"), ("preprocess", "preprocess.json"), ("task", "task.json"))
            }
        )
    )
    assert type(model.pre) is relocated.TabularPreprocessor and model.serving is relocated.ClassificationServing
    assert torch.equal(loaded(torch.from_numpy(model.pre.transform(raw))), expected)


def test_an_old_import_path_loads_through_moved(tmp_path, moved, monkeypatch):
    old = {
        "class": "dlforge.data.families.tabular_classification.TabularPreprocessor",
        "numeric": {},
        "categorical": {},
        "classes": ["a", "b"],
    }
    with pytest.raises(AttributeError):  # an import path written before stable names, class since moved
        from_state(old)
    monkeypatch.setitem(class_names.MOVED, old["class"], "dlforge:TabularPreprocessor")
    assert type(from_state(old)) is moved.TabularPreprocessor


@pytest.mark.parametrize("stored", ["dlforge:Classification", "dlforge.tasks.classification.Classification"])
def test_a_task_json_from_before_the_serving_split_loads_its_serving_class(stored):
    """Champions logged when one task class both served and evaluated name it; they load its Serving class."""
    from dlforge.tasks.classification import ClassificationServing

    assert get_class(class_names.resolve(stored)) is ClassificationServing


def test_an_unknown_stable_name_is_one_line():
    with pytest.raises(UserError, match="no such stable name"):
        class_names.resolve("dlforge:Nope")


# What the pyfunc.py of a model logged by an earlier release imports from dlforge (a logged code model
# carries its own copy of that file): each must keep importing, or old champions stop loading.
LOGGED_PYFUNC_IMPORTS = [
    ("dlforge", "names"),  # before dlforge.names became dlforge.class_names
    ("dlforge.data.preprocess", "from_state"),
    ("dlforge.data.report", "request_line"),
    ("dlforge.errors", "UserError"),
    ("dlforge.io", "read_json"),
    ("dlforge.models.export", "load_net"),
]


def test_what_a_logged_pyfunc_imports_from_dlforge_still_imports():
    import ast

    from conftest import ROOT

    tree = ast.parse((ROOT / "src/dlforge/serving/pyfunc.py").read_text())
    today = [
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dlforge")
        for alias in node.names
    ]
    for module, name in {*LOGGED_PYFUNC_IMPORTS, *today}:
        assert hasattr(importlib.import_module(module), name) or importlib.import_module(f"{module}.{name}"), (
            module,
            name,
        )
    from dlforge import names

    assert names.resolve("dlforge:TabularPreprocessor") == class_names.resolve("dlforge:TabularPreprocessor")
