"""The code a stage runs: the repo files of its static import closure (dvc.yaml's code deps, the resume key).

The closure starts from pipelines/<stage>.py and follows every import of a project module
(pipelines.*, dlforge.*, hydra_plugins.*), at module level or inside a function, plus:
- the `_target_`s the stage instantiates from its config sections (SECTIONS);
- Hydra's own: the `hydra.callbacks` (built before every job) and every module under src/hydra_plugins
  (Hydra imports them all at start-up to find its plugins);
- for the stages that rebuild the preprocessor from preprocess.json by class name (evaluate, register):
  every module of the prepare closure that defines a *Preprocessor class (the only ones prepare stores).
A package's `__init__.py` counts for every module below it (Python runs it first). The files are read,
never imported or run; tests/e2e/test_dvc_deps.py checks the closure against what a running stage imports.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

ROOT = Path(__file__).resolve().parents[2]  # the checkout this package runs from: pipelines/, src/, conf/
PROJECT = ("pipelines", "dlforge", "hydra_plugins")  # top-level packages whose files are the project's code
# Config sections whose `_target_`s each stage instantiates (evaluate/register rebuild the network from
# model.pt, which stores the resolved `model.net` config with its `_target_`).
SECTIONS = {
    "prepare": ("data",),
    "train": ("model", "trainer", "callbacks", "logger", "curves"),
    "evaluate": ("task", "model.net"),
    "register": ("task", "model.net"),
}
REBUILDS_PREPROCESSOR = frozenset({"evaluate", "register"})


def stage_code(stage: str, cfg) -> list[Path]:
    """The repo files (relative to ROOT, sorted) that `stage` imports when it runs on `cfg`.

    `cfg` is the stage's composed config. Hydra's callbacks come from its `hydra` node when it has one
    (compose(..., return_hydra_config=True)); a job's own cfg has none (Hydra removes it), and then
    they are the ones conf/config.yaml declares, where every job gets them from.
    """
    if stage not in SECTIONS:
        raise ValueError(f"unknown stage {stage!r}: expected one of {', '.join(SECTIONS)}")
    cfg = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg)
    return sorted(_closure(_roots(stage, cfg)))


def module_file(name: str) -> Path | None:
    """The file Python runs for project module `name` (a package's __init__.py), or None if not ours."""
    parts = name.split(".")
    if parts[0] not in PROJECT:
        return None
    base = (ROOT if parts[0] == "pipelines" else ROOT / "src").joinpath(*parts)
    for f in (base / "__init__.py", base.with_suffix(".py")):
        if f.is_file():
            return f
    return None


def module_name(path: Path) -> str:
    """`path`'s dotted module name (`path` absolute, or relative to ROOT)."""
    path = ROOT / path
    parts = path.relative_to(ROOT / "src" if path.is_relative_to(ROOT / "src") else ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> frozenset[str]:
    """Project modules `path` imports anywhere in its body (module level or inside functions)."""
    return _imports(path, path.stat().st_mtime_ns)


@cache
def _imports(path: Path, _mtime: int) -> frozenset[str]:
    package = module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
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


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _closure(roots: Iterable[str]) -> set[Path]:
    seen: set[str] = set()
    todo = [p for r in roots for p in _with_parents(r)]
    while todo:
        name = todo.pop()
        if name in seen or not module_file(name):
            continue
        seen.add(name)
        todo.extend(p for m in imports_of(module_file(name)) for p in _with_parents(m))
    return {module_file(m).relative_to(ROOT) for m in seen}


def _targets(node) -> set[str]:
    if isinstance(node, dict):
        own = {node["_target_"]} if isinstance(node.get("_target_"), str) else set()
        return own.union(*(_targets(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_targets(v) for v in node))
    return set()


def _target_modules(cfg: DictConfig, dotted: str) -> set[str]:
    """The module of each project `_target_` (a class or function inside it) under `cfg.<dotted>`."""
    node = OmegaConf.select(cfg, dotted, default=None)
    found = _targets(OmegaConf.to_container(node, resolve=False)) if OmegaConf.is_config(node) else set()
    return {n.rpartition(".")[0] for n in found if n.split(".")[0] in PROJECT}


def _hydra_callbacks(cfg: DictConfig) -> set[str]:
    declared = cfg if "hydra" in cfg else OmegaConf.load(ROOT / "conf" / "config.yaml")
    return _target_modules(declared, "hydra.callbacks")


def _hydra_plugins() -> set[str]:
    return {module_name(p) for p in (ROOT / "src" / "hydra_plugins").rglob("*.py")}


def _preprocessor_modules(cfg: DictConfig) -> set[str]:
    """Modules of prepare's closure defining a class derived from a *Preprocessor (preprocess.json names one)."""
    return {
        module_name(f)
        for f in _closure(_roots("prepare", cfg))
        if _defines_preprocessor(f, (ROOT / f).stat().st_mtime_ns)
    }


@cache
def _defines_preprocessor(path: Path, _mtime: int) -> bool:
    tree = ast.parse((ROOT / path).read_text(), str(path))
    return any(
        isinstance(node, ast.ClassDef) and any("Preprocessor" in ast.unparse(b) for b in node.bases)
        for node in ast.walk(tree)
    )


def _roots(stage: str, cfg: DictConfig) -> set[str]:
    roots = {f"pipelines.{stage}", *_hydra_plugins(), *_hydra_callbacks(cfg)}
    for dotted in SECTIONS[stage]:
        roots |= _target_modules(cfg, dotted)
    if stage in REBUILDS_PREPROCESSOR:
        roots |= _preprocessor_modules(cfg)
    return roots
