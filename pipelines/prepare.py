"""Prepare: raw source → validated rows → deterministic split → preprocessing fitted on train.

Writes data/prepared/<use_case>/ (see dlforge.data.prepared). Imports neither torch nor Lightning.
"""

from __future__ import annotations

from hydra.utils import instantiate
from omegaconf import DictConfig

from dlforge.config.validate import check
from dlforge.data import prepared
from dlforge.data.split import random_split
from dlforge.io import atomic_dir

from pipelines._entry import hydra_entry


def run(cfg: DictConfig) -> dict[str, int]:
    check(cfg, ["data", "split", "paths"])
    spec = instantiate(cfg.data, name=f"data '{cfg.name}'")
    df = spec.load()
    spec.validate(df)
    labels = spec.labels(df)
    idx = random_split(labels, cfg.split.val, cfg.split.test, cfg.seed, stratify=spec.stratify)
    pre = spec.fit(df.iloc[idx["train"]])
    arrays = {s: (pre.transform(spec.raw(df.iloc[i])), labels[i]) for s, i in idx.items()}
    sizes = {s: len(i) for s, i in idx.items()}
    meta = {"name": cfg.name, "kind": pre.kind, "in_shape": pre.in_shape, "classes": pre.classes, "sizes": sizes}
    with atomic_dir(cfg.paths.prepared) as out:
        prepared.write(out, arrays, spec.raw(df.iloc[idx["test"]]), pre, meta)
    print(f"prepared {cfg.name}: " + ", ".join(f"{s}={n}" for s, n in sizes.items()) + f" → {cfg.paths.prepared}")
    return sizes


main = hydra_entry(run)

if __name__ == "__main__":
    main()
