"""register never replaces a champion it cannot score unless told to, and says so in one line."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import pytest
from mlflow.tracking import MlflowClient

from conftest import tiny_overrides
from dlforge.errors import UserError
from dlforge.io import write_json
from dlforge.registry import aliases
from pipelines import evaluate, prepare, register, train


def _break_task_class(client: MlflowClient, name: str, version: str) -> None:
    """Point the version's task.json at a class that no longer exists (a class moved without a stable name)."""
    location = client.get_model_version_download_uri(name, version)
    [task_json] = Path(urlparse(location).path).rglob("task.json")
    write_json(task_json, {"_target_": "dlforge.tasks.gone.Classification"})


def test_an_unscorable_champion_stops_register_unless_replace_incompatible(make_cfg, tiny_csv, tmp_path, mlflow_db):
    tiny = lambda *extra: make_cfg(*tiny_overrides(tiny_csv), *extra)  # noqa: E731
    first = tiny("trainer.max_epochs=2")
    prepare.run(first)
    train.run(first)
    evaluate.run(first)
    assert register.run(first)["champion_version"] == 1
    client = MlflowClient(first.tracking.uri)
    _break_task_class(client, "tiny", "1")
    registry = (tmp_path / "reports/tiny/registry.json").read_text()

    second = tiny("trainer.max_epochs=4")
    train.run(second)
    evaluate.run(second)
    with pytest.raises(UserError, match=r"champion v1 of 'tiny' cannot score today's test set .*ModuleNotFoundError"):
        register.run(second)
    assert len(client.search_model_versions("name='tiny'")) == 1  # nothing registered
    assert int(client.get_model_version_by_alias("tiny", "champion").version) == 1  # nothing moved
    assert (tmp_path / "reports/tiny/registry.json").read_text() == registry

    record = register.run(tiny("trainer.max_epochs=4", "register.gate.replace_incompatible=true"))
    assert record["promoted"] and record["champion_version"] == 2 and "cannot score" in record["reason"]
    last = aliases.history(client, "tiny")[-1]
    assert (last["alias"], last["version"], last["kind"]) == ("champion", 2, "replace_incompatible")
    assert json.loads((tmp_path / "reports/tiny/registry.json").read_text())["champion_version"] == 2
