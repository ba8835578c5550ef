"""README's "A new family" list names every file the contract tests require of a family, and nothing else.

Each entry is checked against the real use cases and against the contract test that enforces it: the
contract test passes on the tree as it is and fails once that one fact is taken away (a stable name, a
metric's direction, an experiment section, a search space, dvc.yaml's use case). Entries that name the
family's own code are checked against where every built-in use case's `_target_`s live.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hydra.utils import get_class

from conftest import CONF, ROOT
from dlforge import class_names
from dlforge.errors import UserError
from dlforge.tasks import directions
from tools import dvc_sync

USE_CASES = dvc_sync.declared_use_cases(ROOT)
FIRST = min(USE_CASES)


def readme_family_list() -> dict[str, str]:
    """{path pattern: the whole item} for each numbered item under README's "A new family"."""
    text = (ROOT / "README.md").read_text()
    section = text.split("**A new family**", 1)[1].split("\n## ", 1)[0]
    items = re.split(r"\n(?=\d+\. )", section.split("\n1. ", 1)[1])
    found = {}
    for item in items:
        head = item.split(":", 1)[0] if re.match(r"(\d+\. )?`", item) else ""
        for path in re.findall(r"`([^`]+)`", head):
            found[path] = item
    return found


def contract_test(filename: str, readme_item: str):
    """The contract test module `filename`, loaded from where README's item says it is."""
    named = [p for p in re.findall(r"`(tests/[^`]+\.py)`", readme_item) if Path(p).name == filename]
    assert named, f"README's item should name the contract test {filename}: {readme_item!r}"
    path = ROOT / named[0]
    assert path.is_file(), f"README names {named[0]}, which does not exist"
    spec = importlib.util.spec_from_file_location(f"contract_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def fails(check: Callable[[], object]) -> bool:
    """Whether a contract test fails (an assertion, or the one-line UserError the code raises)."""
    try:
        check()
    except (AssertionError, UserError):
        return True
    return False


def conf_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(CONF, tmp_path / "conf"))


def _configs(group: str) -> dict[str, dict]:
    return {
        uc: yaml.safe_load((CONF / group / f"{groups[group]}.yaml").read_text()) for uc, groups in USE_CASES.items()
    }


def _module_file(target: str) -> str:
    return str(Path(sys.modules[get_class(target).__module__].__file__).relative_to(ROOT))


def _matches(pattern: str, path: str) -> bool:
    return re.fullmatch(re.sub(r"<[a-z]+>", "[^/]+", re.escape(pattern)), path) is not None


def check_family_code(pattern: str, item: str, tmp_path: Path) -> None:
    """The module of every use case's data spec / task / network `_target_` fits the pattern."""
    group, key = {"data": ("data", None), "tasks": ("task", None), "models": ("model", "net")}[pattern.split("/")[2]]
    for uc, cfg in _configs(group).items():
        path = _module_file((cfg[key] if key else cfg)["_target_"])
        assert _matches(pattern, path), f"{uc}'s {group} `_target_` lives in {path}, not {pattern}: update README"


def check_names(pattern: str, item: str, tmp_path: Path, monkeypatch) -> None:
    test = contract_test("test_names.py", item).test_every_saved_class_has_a_stable_name_that_imports
    assert str(Path(class_names.__file__).relative_to(ROOT)) == pattern
    test()
    saved = {}  # each use case's network and Serving class, once each
    for uc, model in _configs("model").items():
        task = get_class(_configs("task")[uc]["_target_"])
        for cls in (model["net"]["_target_"], f"{task.serving.__module__}.{task.serving.__qualname__}"):
            saved.setdefault(class_names.stable(cls).removeprefix(class_names.PREFIX), uc)
    for stable, uc in saved.items():
        with monkeypatch.context() as m:
            m.delitem(class_names.CLASSES, stable)
            assert fails(test), f"tests/unit/core/test_names.py passes without {uc}'s stable name {stable}"


def check_directions(pattern: str, item: str, tmp_path: Path, monkeypatch) -> None:
    test = contract_test("test_directions.py", item).test_every_built_in_metric_has_a_direction
    assert str(Path(directions.__file__).relative_to(ROOT)) == pattern
    test()
    for uc in USE_CASES:
        metric = yaml.safe_load((CONF / "experiment" / f"{uc}.yaml").read_text())["register"]["gate"]["metric"]
        stem = re.sub(r"_at_\d+$", "_at", metric)
        with monkeypatch.context() as m:
            m.delitem(directions.HIGHER_IS_BETTER, stem)
            assert fails(test), (
                f"tests/unit/tasks/test_directions.py does not check {uc}'s gate metric {metric}: add its task"
            )


def check_group_configs(pattern: str, item: str, tmp_path: Path) -> None:
    group = pattern.split("/")[1]
    for uc, groups in USE_CASES.items():
        assert (ROOT / pattern.replace("<name>", groups[group])).is_file(), f"{uc}: no {pattern}"


def check_experiment(pattern: str, item: str, tmp_path: Path, monkeypatch) -> None:
    module = contract_test("test_dvc_sync.py", item)
    module.test_experiment_lists_every_section_dvc_tracks(FIRST)
    conf = conf_copy(tmp_path)
    experiment = conf / pattern.removeprefix("conf/").replace("<name>", FIRST)
    tracked = yaml.safe_load(experiment.read_text())
    for section in module.TRACKED_SECTIONS:
        experiment.write_text(yaml.safe_dump({k: v for k, v in tracked.items() if k != section}))
        monkeypatch.setattr(module, "CONF", conf)
        assert fails(lambda: module.test_experiment_lists_every_section_dvc_tracks(FIRST)), section


def check_search_space(pattern: str, item: str, tmp_path: Path, monkeypatch) -> None:
    module = contract_test("test_search_spaces.py", item)
    module.test_every_use_case_has_a_search_space()
    conf = conf_copy(tmp_path)
    (conf / pattern.removeprefix("conf/").replace("<name>", FIRST)).unlink()
    monkeypatch.setattr(module, "CONF", conf)
    assert fails(module.test_every_use_case_has_a_search_space)


def check_dvc_yaml(pattern: str, item: str, tmp_path: Path, monkeypatch) -> None:
    module = contract_test("test_dvc_sync.py", item)
    test = module.test_the_use_cases_are_the_built_in_experiments_with_the_groups_hydra_picks
    test()
    contract_test("test_dvc_deps.py", item)  # named, and where README says
    conf = conf_copy(tmp_path)
    shutil.copy(conf / "experiment" / f"{FIRST}.yaml", conf / "experiment" / "a_new_family.yaml")
    monkeypatch.setattr(module, "CONF", conf)
    assert fails(test), "tests/unit/tools/test_dvc_sync.py passes with an experiment dvc.yaml does not run"


def check_use_cases_doc(pattern: str, item: str, tmp_path: Path) -> None:
    text = (ROOT / pattern).read_text()
    assert all(f"`{uc}`" in text for uc in USE_CASES), f"{pattern} should describe every use case"


CHECKS: dict[str, Callable] = {
    "src/dlforge/data/families/<family>.py": check_family_code,
    "src/dlforge/tasks/<family>.py": check_family_code,
    "src/dlforge/models/nets/<net>.py": check_family_code,
    "src/dlforge/class_names.py": check_names,
    "src/dlforge/tasks/directions.py": check_directions,
    "conf/data/<name>.yaml": check_group_configs,
    "conf/model/<name>.yaml": check_group_configs,
    "conf/task/<name>.yaml": check_group_configs,
    "conf/experiment/<name>.yaml": check_experiment,
    "conf/hparams_search/<name>.yaml": check_search_space,
    "dvc.yaml": check_dvc_yaml,
    "docs/use-cases.md": check_use_cases_doc,
}


def test_the_list_is_the_checked_one():
    listed = readme_family_list()
    assert set(listed) == set(CHECKS), (
        f"README lists {sorted(set(listed) - set(CHECKS))} with no check here; "
        f"checked but not listed: {sorted(set(CHECKS) - set(listed))}"
    )


@pytest.mark.parametrize("pattern", list(CHECKS))
def test_each_entry_is_what_a_contract_test_or_every_use_case_requires(pattern, tmp_path, monkeypatch):
    item = readme_family_list().get(pattern)
    assert item is not None, f"README's new-family list does not name {pattern}"
    check = CHECKS[pattern]
    if "monkeypatch" in check.__code__.co_varnames:
        check(pattern, item, tmp_path, monkeypatch)
    else:
        check(pattern, item, tmp_path)


def test_the_readme_stays_within_its_budget():
    """README.md is read whole by a newcomer: at most 18,000 characters (longer notes go to docs/)."""
    assert len((ROOT / "README.md").read_text()) <= 18_000
