"""The `dlforge` console script against a real MLflow SQLite store filled by the real stages.

`dlforge list` runs through the installed console script (and a fresh interpreter checks that the registry
commands import no torch); the other commands call `dlforge.cli.main(argv)` in-process, the function the
console script runs, so each check costs no interpreter start-up (MLflow's import alone is seconds).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from conftest import ROOT
from dlforge.cli import main

DLFORGE = Path(sys.executable).parent / "dlforge"


@pytest.fixture(scope="module")
def store(tmp_path_factory, tiny_registry) -> str:
    """v1 (untrained, first champion) and v2 (trained, promoted by the gate) of model `tiny`.

    A copy of the session's tiny registry (conftest.build_registry): these tests move its aliases.
    """
    root = tmp_path_factory.mktemp("registry")
    shutil.copyfile(tiny_registry[0] / "mlflow.db", root / "mlflow.db")
    return f"sqlite:///{root}/mlflow.db"


def dlforge(uri: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    return subprocess.run([str(DLFORGE), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def ok(uri: str, *args: str) -> str:
    r = dlforge(uri, *args)
    assert r.returncode == 0, r.stderr
    return r.stdout


def cli(capsys, uri: str, *args: str) -> tuple[int, str, str]:
    """`dlforge --tracking-uri uri args…` in this process: exit code, stdout, stderr."""
    capsys.readouterr()
    code = main(["--tracking-uri", uri, *args])
    out, err = capsys.readouterr()
    return code, out, err


def cli_ok(capsys, uri: str, *args: str) -> str:
    code, out, err = cli(capsys, uri, *args)
    assert code == 0, err
    return out


def test_list_shows_models_versions_and_aliases_without_torch(store, capsys):
    table = ok(store, "list")  # the installed console script, MLFLOW_TRACKING_URI from the environment
    assert "registered models" in table and "tiny" in table and "v2" in table
    [model] = json.loads(cli_ok(capsys, store, "list", "--json"))
    assert (
        model["name"] == "tiny"
        and model["aliases"] == {"champion": 2, "challenger": 2}
        and model["latest_version"] == 2
    )
    versions = {r["version"]: r for r in json.loads(cli_ok(capsys, store, "list", "tiny", "--json"))}
    assert versions[2]["aliases"] == ["challenger", "champion"] and versions[1]["aliases"] == []
    assert versions[2]["promoted"] == "true" and float(versions[2]["ci"][0]) > 0
    code = f"import sys; from dlforge.cli import main; main(['--tracking-uri', '{store}', 'describe', 'tiny']); print(sorted(m for m in ('torch', 'lightning', 'pytorch_lightning') if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.stdout.strip().splitlines()[-1] == "[]", r.stderr


def test_describe_shows_metrics_lineage_and_gate(store, capsys):
    d = json.loads(cli_ok(capsys, store, "describe", "tiny/2", "--json"))
    assert d["version"] == 2 and d["aliases"] == ["challenger", "champion"]
    assert {"test_pr_auc", "baseline_test_pr_auc"} <= d["metrics"].keys()
    assert len(d["lineage"]["data_hash"]) == 64 and d["lineage"]["git_commit"]
    assert d["gate"]["promoted"] == "true" and float(d["gate"]["ci_low"]) > 0 and d["gate"]["metric"] == "pr_auc"
    assert [m["alias"] for m in d["alias_moves"]] == ["challenger", "champion"]
    text = cli_ok(capsys, store, "describe", "tiny")  # a bare name is its champion
    assert "tiny v2" in text and "ci_low" in text and "data_hash" in text


def test_promote_by_hand_then_rollback_returns_the_previous_champion(store, capsys):
    client = MlflowClient(store)
    champion = lambda: int(client.get_model_version_by_alias("tiny", "champion").version)  # noqa: E731
    assert champion() == 2
    assert "champion v2 → v1" in cli_ok(capsys, store, "promote", "tiny/1", "--reason", "v2 misbehaves in production")
    assert champion() == 1
    assert "champion v1 → v2" in cli_ok(capsys, store, "rollback", "tiny", "--reason", "v1 was worse")
    assert champion() == 2
    assert "champion v2 → v1" in cli_ok(
        capsys, store, "rollback", "tiny"
    )  # v2 came after v1: rolling back again gives v1
    assert champion() == 1
    log = json.loads(cli_ok(capsys, store, "history", "tiny", "--json"))
    manual = [m for m in log if m["kind"] != "gate"]
    assert [(m["kind"], m["previous"], m["version"]) for m in manual] == [
        ("manual", 2, 1),
        ("rollback", 1, 2),
        ("rollback", 2, 1),
    ]
    assert manual[0]["reason"] == "v2 misbehaves in production" and manual[0]["by"]
    code, _, err = cli(capsys, store, "rollback", "tiny")  # v1 was the first champion: nothing before it
    assert code == 2 and "no previous champion recorded before v1" in err and champion() == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (("describe", "nope"), "error: model 'nope': no such registered model (known: tiny)"),
        (("describe", "tiny/9"), "error: model 'tiny': no version 9 (has: 1, 2)"),
        (("describe", "tiny@prod"), "error: model 'tiny': no alias 'prod' (has: challenger, champion)"),
        (("promote", "tiny/1", "--reason", " "), "error: promote --reason: must say why"),
        (("describe", "tiny@@x"), "error: model reference 'tiny@@x': expected NAME, NAME@ALIAS or NAME/VERSION"),
    ],
)
def test_bad_references_fail_in_one_line_and_move_nothing(store, args, message, capsys):
    client = MlflowClient(store)
    before = (
        client.get_model_version_by_alias("tiny", "champion").version,
        len(client.get_registered_model("tiny").tags),
    )
    assert main(["--tracking-uri", store, *args]) == 2  # in-process: the console script's exit code
    err = capsys.readouterr().err.strip()
    assert err.startswith(message) and len(err.splitlines()) == 1
    assert (
        client.get_model_version_by_alias("tiny", "champion").version,
        len(client.get_registered_model("tiny").tags),
    ) == before
