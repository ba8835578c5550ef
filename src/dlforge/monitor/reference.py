"""The champion being judged and its training reference: the prepared splits its run was trained on.

The registered version names its training run; that run holds the composed config (config.yaml, logged
by train) whose `paths.prepared` is the prepared folder, and the lineage tag `dlforge.data_hash`, the
folder's hash when it trained. The reference is used only when the folder is there and hashes the
same: statistics against other data would judge the champion on data it never saw.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from dlforge import keys as K
from dlforge.data import prepared as prepared_data
from dlforge.data.prepared import Prepared
from dlforge.errors import UserError
from dlforge.io import tree_hash


@dataclass
class Champion:
    name: str
    version: int
    run_id: str
    experiment_id: str
    tags: dict[str, str]  # the version's tags: gate metric, test figures, lineage
    cfg: DictConfig  # the training run's composed config
    data: Prepared  # its prepared splits, hash checked

    @property
    def uri(self) -> str:
        return f"models:/{self.name}@{K.CHAMPION}"


def find(client: Any, name: str) -> Champion:
    """The champion of registered model `name` and its checked training reference; UserError names what is missing."""
    from mlflow.exceptions import MlflowException

    try:
        version = client.get_model_version_by_alias(name, K.CHAMPION)
    except MlflowException as e:
        raise UserError(
            f"model '{name}': no {K.CHAMPION} version in this registry (run its register stage first)"
        ) from e
    run = client.get_run(version.run_id)
    cfg = _config(client, version.run_id, name, version.version)
    where = f"{name} v{version.version}"
    folder = Path(cfg.paths.prepared)
    if not (folder / "meta.json").exists():
        raise UserError(
            f"training reference of {where} missing: '{folder}' (re-run its prepare stage, or `dlforge lineage {name} --rebuild`)"
        )
    recorded = run.data.tags.get(K.DATA_HASH)
    if recorded is None:
        raise UserError(
            f"training run {version.run_id} of {where} has no {K.DATA_HASH} tag: its reference cannot be checked"
        )
    if tree_hash(folder) != recorded:
        raise UserError(
            f"training reference of {where} differs: '{folder}' hashes differently from the {K.DATA_HASH} its run recorded "
            f"({recorded[:12]}…); prepare it again at the version's commit (`dlforge lineage {name} --rebuild`)"
        )
    return Champion(
        name,
        int(version.version),
        version.run_id,
        run.info.experiment_id,
        dict(version.tags),
        cfg,
        prepared_data.load(folder),
    )


def _config(client: Any, run_id: str, name: str, version: str) -> DictConfig:
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory(prefix="dlforge-monitor-") as tmp:
        try:
            path = client.download_artifacts(run_id, "config.yaml", tmp)
        except (MlflowException, OSError) as e:
            raise UserError(f"training run {run_id} of {name} v{version} has no config.yaml artifact") from e
        return OmegaConf.create(Path(path).read_text())
