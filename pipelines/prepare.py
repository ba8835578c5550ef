"""Prepare: raw source → validated rows → deterministic split → preprocessing fitted on train.

Writes data/prepared/<use_case>/ (see dlforge.data.prepared). Imports neither torch nor Lightning.
Every use case runs through the same steps; its data spec (conf/data/) says what they mean.
"""

from __future__ import annotations

from hydra.utils import instantiate
from omegaconf import DictConfig

from dlforge.config.validate import check
from dlforge.data import prepared
from dlforge.data import report as data_report
from dlforge.io import atomic_dir
from pipelines._entry import hydra_entry


def run(cfg: DictConfig) -> dict[str, int]:
    check(cfg, ["data", "split", "paths"])
    spec = instantiate(cfg.data, name=f"data '{cfg.name}'")
    df = spec.load()
    spec.validate(df)
    idx = spec.split(df, cfg.split.val, cfg.split.test, cfg.seed)
    pre = spec.fit(df, idx["train"])
    sizes = {s: len(i) for s, i in idx.items()}
    meta = {"name": cfg.name, "sizes": sizes, **pre.model_args}
    with atomic_dir(cfg.paths.prepared) as out:  # each split written in chunks of rows (dlforge.data.prepared)
        examples = lambda rows: spec.examples(df, rows)  # noqa: E731
        gaps = lambda rows: spec.gaps(df, rows)  # noqa: E731
        report = prepared.write(out, examples, idx, pre, meta, spec.extras(df, idx, pre), spec.chunk_rows, gaps)
    print(f"prepared {cfg.name}: " + ", ".join(f"{s}={n}" for s, n in sizes.items()) + f" → {cfg.paths.prepared}")
    if report:  # what was imputed and which categories share <other> (also in meta.json, the run and the model card)
        print(f"prepared {cfg.name}: {data_report.summary(report)}")
    return sizes


main = hydra_entry(run)

if __name__ == "__main__":
    main()
