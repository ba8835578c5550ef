"""Every stage's code `deps` in dvc.yaml are generated from the modules it imports, and DVC acts on them.

dlforge.code_deps computes a stage's static import closure for one use case; tools/dvc_sync.py
writes the union over the use cases into dvc.yaml (`make dvc-sync`). These tests check that dvc.yaml
is that output, and, independently of how it is written, what it must mean: every module a use case's
stage imports is listed (else fail naming both), and every listed code path is imported by the stage
for at least one use case (one naming `${item.…}` by its own); a directory only when every module in
it is. The analysis itself is checked against a running stage's imports (-X importtime).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from benchmarks.dvc_noop import up_to_date_copy
from conftest import CONF, ROOT, sh, work_overrides
from dlforge import code_deps
from tools import dvc_sync

DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text())
USE_CASES = dvc_sync.declared_use_cases(ROOT)
STAGES = dvc_sync.STAGES
FIRST = min(USE_CASES)


@cache
def configs() -> dict:
    """Every use case's composed config, with Hydra's node (as `make dvc-sync` composes them)."""
    return dvc_sync.composed(ROOT)


def stage_closure(stage: str, use_case: str) -> set[Path]:
    return set(code_deps.stage_code(stage, configs()[use_case]))


def generated_block(stage: str) -> list[str]:
    """The entries dvc.yaml lists between the stage's code markers."""
    text = (ROOT / "dvc.yaml").read_text()
    start, end = dvc_sync.CODE_MARKER.format(stage=stage), dvc_sync.CODE_END.format(stage=stage)
    assert start in text and end in text, f"dvc.yaml has no generated code block for {stage}: run `make dvc-sync`"
    inside = text.split(start)[1].split(end)[0]
    return [line.strip().removeprefix("- ") for line in inside.strip().splitlines()]


def listed_code_deps(stage: str, use_case: str) -> list[Path]:
    item = USE_CASES[use_case]
    deps = []
    for dep in DVC["stages"][stage]["do"]["deps"]:
        dep = dep.replace("${key}", use_case)
        for k, v in item.items():
            dep = dep.replace(f"${{item.{k}}}", v)
        if dep.startswith(("pipelines/", "src/")):
            deps.append(Path(dep))
    return deps


def covered(module: Path, deps: list[Path]) -> bool:
    return any(module == d or module.is_relative_to(d) for d in deps)


@pytest.mark.parametrize("stage", STAGES)
def test_code_deps_are_what_make_dvc_sync_writes(stage):
    cases = dvc_sync.use_cases(ROOT, configs())
    assert generated_block(stage) == dvc_sync.code_deps(stage, configs(), cases), (
        f"dvc.yaml's code deps of {stage} are stale: run `make dvc-sync`"
    )
    code = [d for d in DVC["stages"][stage]["do"]["deps"] if d.startswith(("pipelines/", "src/"))]
    assert code == generated_block(stage), "every code dep is inside the generated block, none written by hand"


@pytest.mark.parametrize("stage", STAGES)
def test_every_imported_module_is_a_dep(stage):
    missing = []
    for use_case in sorted(USE_CASES):
        deps = listed_code_deps(stage, use_case)
        missing += [
            f"{stage}@{use_case} imports {m} but dvc.yaml does not list it"
            for m in sorted(stage_closure(stage, use_case))
            if not covered(m, deps)
        ]
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("stage", STAGES)
def test_every_code_dep_is_imported(stage):
    """A dep shared by all use cases must be imported by one of them; one naming `${item.…}` by its own."""
    used = set().union(*(stage_closure(stage, uc) for uc in USE_CASES))
    templates = [d for d in DVC["stages"][stage]["do"]["deps"] if d.startswith(("pipelines/", "src/"))]
    extra = []
    for use_case in sorted(USE_CASES):
        own = stage_closure(stage, use_case)
        for template, dep in zip(templates, listed_code_deps(stage, use_case), strict=True):
            assert (ROOT / dep).exists(), f"{stage}@{use_case}: dvc.yaml lists {dep}, which does not exist"
            files = [dep] if (ROOT / dep).is_file() else sorted(p.relative_to(ROOT) for p in (ROOT / dep).rglob("*.py"))
            scope, who = (own, f"{stage}@{use_case}") if "${item." in template else (used, f"no use case's {stage}")
            extra += [f"{stage} lists {dep} but {who} imports {f}" for f in files if f not in scope]
    assert not extra, "\n".join(sorted(set(extra)))


def _function_local_imports(path: Path) -> set[Path]:
    """The project modules `path` imports inside its functions (not at module level)."""
    found = set()
    for fn in ast.walk(ast.parse(path.read_text())):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
                    found |= {code_deps.module_file(n) for n in names if code_deps.module_file(n)}
    return {f.relative_to(ROOT) for f in found}


def _target_files(node) -> set[Path]:
    """The files of the project `_target_`s under a config node."""
    text = OmegaConf.to_yaml(node)
    modules = {
        line.split("_target_:")[1].strip().rpartition(".")[0] for line in text.splitlines() if "_target_:" in line
    }
    return {code_deps.module_file(m).relative_to(ROOT) for m in modules if code_deps.module_file(m)}


@pytest.mark.parametrize("use_case", sorted(USE_CASES))
def test_the_closure_follows_function_local_and_config_imports(use_case):
    """Guards the analysis: function-local imports, the `_target_`s of the stage's sections and Hydra's
    callbacks are in; another use case's network module is out."""
    cfg = configs()[use_case]
    train, evaluate = stage_closure("train", use_case), stage_closure("evaluate", use_case)
    local = _function_local_imports(ROOT / "pipelines/train.py")
    assert local and local <= train
    for section in ("model", "callbacks", "hydra.callbacks"):
        assert _target_files(OmegaConf.select(cfg, section)) <= train, section
    assert _target_files(cfg.task) <= evaluate
    others = set().union(*(_target_files(c.model.net) for c in configs().values())) - _target_files(cfg.model.net)
    assert others and not others & train


@pytest.mark.parametrize("stage", STAGES)
def test_a_jobs_own_config_gives_the_same_files(stage):
    """Inside a stage, Hydra removes its own node from cfg: the closure is the same (the resume key's files)."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        job = compose("config", overrides=[f"experiment={FIRST}"])
    assert "hydra" not in job
    assert code_deps.stage_code(stage, job) == code_deps.stage_code(stage, configs()[FIRST])


def test_an_unknown_stage_is_refused():
    with pytest.raises(ValueError, match="unknown stage 'serve'"):
        code_deps.stage_code("serve", configs()[FIRST])


def _stale(repo: Path) -> set[str]:
    """The stages `dvc status` reports as changed."""
    return set(json.loads(sh(["dvc", "status", "--json"], repo).stdout or "{}"))


@pytest.mark.e2e  # dvc in a copy of the repo
def test_editing_a_module_only_evaluate_and_register_import_reruns_them(tmp_path):
    """With every stage up to date (placeholder outputs committed by `dvc commit`), touching a module
    that every use case's evaluate and register import, and no prepare or train, makes exactly those
    stages stale in `dvc status`."""
    repo = up_to_date_copy(tmp_path / "repo")
    assert _stale(repo) == set(), "the committed lock should make every stage up to date"
    upstream = set().union(*(stage_closure(s, uc) for s in ("prepare", "train") for uc in USE_CASES))
    downstream = set.intersection(*(stage_closure(s, uc) for s in ("evaluate", "register") for uc in USE_CASES))
    module = sorted(downstream - upstream)[0]
    (repo / module).write_text((repo / module).read_text() + "\n# edited\n")
    stale = _stale(repo)
    assert {s.split("@")[0] for s in stale} == {"evaluate", "register"}, (module, stale)
    assert stale == {f"{s}@{uc}" for s in ("evaluate", "register") for uc in USE_CASES}


@pytest.mark.slow  # every stage of every use case under -X importtime
def test_the_static_closure_covers_what_each_stage_imports_when_it_runs(work):
    """Cross-check of the analysis: run the four stages (tiny credit_default) with -X importtime and
    find every project module they really import inside the closure computed for that stage."""
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PYTHONPATH"] = str(ROOT)
    for stage in STAGES:
        args = [sys.executable, "-X", "importtime", "-m", f"pipelines.{stage}", *work_overrides(work, "rt")]
        if stage == "prepare":
            args.append(f"paths.prepared={work}/data/rt")
        done = subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        loaded = {
            line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")
        }
        files = {code_deps.module_file(m).relative_to(ROOT) for m in loaded if code_deps.module_file(m)}
        unseen = files - stage_closure(stage, "credit_default")
        assert not unseen, f"{stage} imported {sorted(map(str, unseen))} at run time, which the analysis missed"
