"""Every stage's code `deps` in dvc.yaml are exactly the project modules it imports, and DVC acts on them.

The import closure of a stage starts from its entry (pipelines/<stage>.py) and follows every import
of a project module (pipelines.*, dlforge.*, hydra_plugins.*), top-level and function-local, plus:
- the `_target_`s the stage instantiates from its config sections (STAGE_SECTIONS), per use case;
- Hydra's own: the `hydra.callbacks` of conf/config.yaml (instantiated before every job) and the
  plugin modules under src/hydra_plugins (Hydra imports them all at start-up to discover plugins);
- for stages that rebuild the preprocessor from preprocess.json (by class name): every module of
  the use case's prepare closure that defines a Preprocessor class (prepare can store only those).
A package's `__init__.py` counts for every module below it (Python runs it first).

The foreach template shares one deps list over the use cases, so the check is: every module a use
case's stage imports is listed (else fail naming both), and every listed code path is imported by the
stage for at least one use case; a directory may be listed only when every module in it is.
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
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from conftest import CONF, ROOT, copy_repo, sh, work_overrides
from pipelines.dvc_sync import declared_use_cases

DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text())
USE_CASES = declared_use_cases(ROOT)
STAGES = ("prepare", "train", "evaluate", "register")
PROJECT = ("pipelines", "dlforge", "hydra_plugins")
# Config sections whose `_target_`s each stage instantiates (evaluate/register rebuild the network
# from model.pt, which stores the resolved `model.net` config with its `_target_`).
STAGE_SECTIONS = {
    "prepare": ["data"],
    "train": ["model", "trainer", "callbacks", "logger", "curves"],
    "evaluate": ["task", "model.net"],
    "register": ["task", "model.net"],
}
REBUILDS_PREPROCESSOR = {"evaluate", "register"}


def module_file(name: str) -> Path | None:
    parts = name.split(".")
    if parts[0] not in PROJECT:
        return None
    base = (ROOT if parts[0] == "pipelines" else ROOT / "src").joinpath(*parts)
    for f in (base / "__init__.py", base.with_suffix(".py")):
        if f.is_file():
            return f
    return None


def with_parents(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[: i + 1]) for i in range(len(parts))}


@cache
def imports_of(path: Path) -> frozenset[str]:
    """Project modules `path` imports anywhere in its body (module level or inside functions)."""
    package = ".".join(
        path.relative_to(ROOT / "src" if path.is_relative_to(ROOT / "src") else ROOT).with_suffix("").parts
    )
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    else:
        package = package.removesuffix(".__init__")
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)  # `from pkg import submodule`
    return frozenset(m for m in found if module_file(m))


def closure(roots: set[str]) -> set[Path]:
    seen: set[str] = set()
    todo = [p for r in roots for p in with_parents(r)]
    while todo:
        name = todo.pop()
        if name in seen or not module_file(name):
            continue
        seen.add(name)
        todo.extend(p for m in imports_of(module_file(name)) for p in with_parents(m))
    return {module_file(m).relative_to(ROOT) for m in seen}


def targets(node) -> set[str]:
    if isinstance(node, dict):
        own = {node["_target_"]} if isinstance(node.get("_target_"), str) else set()
        return own.union(*(targets(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(targets(v) for v in node))
    return set()


def target_modules(names: set[str]) -> set[str]:
    """The module of each project `_target_` (a class or function inside it)."""
    return {n.rpartition(".")[0] for n in names if n.split(".")[0] in PROJECT}


@cache
def composed(use_case: str) -> dict:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=[f"experiment={use_case}"], return_hydra_config=True)
    return OmegaConf.to_container(cfg, resolve=False)


def section(cfg: dict, dotted: str):
    for key in dotted.split("."):
        cfg = cfg.get(key) or {}
    return cfg


def preprocessor_modules(use_case: str) -> set[str]:
    """Modules of prepare's closure defining a class derived from a *Preprocessor (preprocess.json names one)."""
    found = set()
    for f in stage_closure("prepare", use_case):
        for node in ast.walk(ast.parse((ROOT / f).read_text())):
            if isinstance(node, ast.ClassDef) and any("Preprocessor" in ast.unparse(b) for b in node.bases):
                found.add(".".join(f.relative_to("src").with_suffix("").parts))
    return found


def hydra_plugin_modules() -> set[str]:
    return {
        ".".join(p.relative_to(ROOT / "src").with_suffix("").parts) for p in (ROOT / "src/hydra_plugins").rglob("*.py")
    }


@cache
def stage_closure(stage: str, use_case: str) -> set[Path]:
    cfg = composed(use_case)
    roots = {f"pipelines.{stage}", *hydra_plugin_modules()}
    roots |= target_modules(targets(cfg["hydra"].get("callbacks") or {}))
    for dotted in STAGE_SECTIONS[stage]:
        roots |= target_modules(targets(section(cfg, dotted)))
    if stage in REBUILDS_PREPROCESSOR:
        roots |= preprocessor_modules(use_case)
    return closure(roots)


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


def test_the_closure_follows_function_local_and_config_imports():
    """Guards the analysis itself: a function-local import, a `_target_` and a Hydra callback are found."""
    train = stage_closure("train", "digits_gan")
    assert Path("src/dlforge/models/export.py") in train  # imported inside train.fit()
    assert Path("src/dlforge/models/gan_callbacks.py") in train  # only a callbacks `_target_`
    assert Path("src/dlforge/sweeps/parent_run.py") in train  # hydra.callbacks
    assert Path("src/dlforge/tasks/generation.py") in stage_closure("evaluate", "digits_gan")  # task `_target_`
    assert Path("src/dlforge/models/gan.py") not in stage_closure("train", "digits")


def _stale(repo: Path) -> set[str]:
    """The stages `dvc status` reports as changed."""
    return set(json.loads(sh(["dvc", "status", "--json"], repo).stdout or "{}"))


@pytest.mark.e2e  # dvc in a copy of the repo
def test_editing_an_evaluate_only_module_reruns_evaluate_and_register(tmp_path):
    """With every stage up to date (a committed dvc.lock of this dvc.yaml), touching a module that only
    evaluate (and so register, downstream) imports makes exactly those stages stale in `dvc status`."""
    repo = copy_repo(tmp_path / "repo")
    _lock_current_tree(repo)
    assert _stale(repo) == set(), "the synthesized lock should make every stage up to date"
    module = Path("src/dlforge/tasks/base.py")
    upstream = set().union(*(stage_closure(s, uc) for s in ("prepare", "train") for uc in USE_CASES))
    assert module in stage_closure("evaluate", "digits") and module not in upstream
    (repo / module).write_text((repo / module).read_text() + "\n# edited\n")
    stale = {s.split("@")[0] for s in _stale(repo)}
    assert stale == {"evaluate", "register"}, stale
    per_case = {s for s in _stale(repo) if s.startswith("evaluate@")}
    assert per_case == {f"evaluate@{uc}" for uc in USE_CASES}


def _lock_current_tree(repo: Path) -> None:
    """A dvc.lock in which every stage ran against the tree as it is now, without running anything.

    Outputs are empty placeholder folders committed to the copy's DVC cache; deps and params carry
    the hashes `dvc` computes for the current files, so `dvc status` reports only what changes after.
    """
    for uc in USE_CASES:
        for stage in STAGES:
            for kind in ("outs", "metrics", "plots"):
                for entry in DVC["stages"][stage]["do"].get(kind, []):
                    out = repo / (next(iter(entry)) if isinstance(entry, dict) else entry).replace("${key}", uc)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    if out.suffix == ".json":
                        out.write_text("{}")
                    else:
                        out.mkdir(exist_ok=True)
                        (out / "placeholder").write_text(str(out))
    # `dvc commit` records every stage's current deps, params and outs in dvc.lock without running it.
    sh(["dvc", "commit", "-f", "-q"], repo)


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
        files = {module_file(m).relative_to(ROOT) for m in loaded if m.split(".")[0] in PROJECT and module_file(m)}
        unseen = files - stage_closure(stage, "credit_default")
        assert not unseen, f"{stage} imported {sorted(map(str, unseen))} at run time, which the analysis missed"
