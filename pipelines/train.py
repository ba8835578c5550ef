"""Train: prepared tensors → Lightning fit → models/<use_case>/{model.pt, run.json}.

Trainer, model, optimiser, callbacks and logger all come from config (`_target_`). The MLflow run
gets the composed config (as params and as config.yaml), per-epoch train/val curves and lineage
tags; its id goes to run.json so evaluate and register log into the same run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from dlforge.config.validate import check
from dlforge.data import prepared as prepared_data
from dlforge.io import atomic_dir

from pipelines._entry import hydra_entry


def run(cfg: DictConfig) -> dict[str, float]:
    check(cfg, ["model", "trainer", "callbacks", "logger", "train", "paths", "tracking"])
    data = prepared_data.load(cfg.paths.prepared)

    import pytorch_lightning as pl
    import torch

    from dlforge.data.batches import InMemoryDataModule
    from dlforge.models.checkpoint import save_net
    from dlforge.tracking import lineage, runs

    pl.seed_everything(cfg.seed, workers=True)
    tensors = {s: tuple(torch.from_numpy(a) for a in data.arrays(s)) for s in ("train", "val")}
    num_classes = len(data.meta["classes"])
    net_config = {**OmegaConf.to_container(cfg.model.net, resolve=True), "in_shape": data.meta["in_shape"], "num_classes": num_classes}
    model = instantiate(cfg.model, net=net_config, num_classes=num_classes)
    datamodule = InMemoryDataModule(tensors["train"], tensors["val"], cfg.train.batch_size, cfg.train.eval_batch_size, cfg.seed)

    logger = instantiate(cfg.logger, tags=lineage.tags(cfg.paths.prepared)) if cfg.logger else False
    callbacks = [instantiate(c) for c in cfg.callbacks.values() if c is not None]
    with tempfile.TemporaryDirectory(prefix="dlforge-train-") as scratch:
        trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=logger, default_root_dir=scratch)
        if logger and trainer.is_global_zero:
            logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
            logger.experiment.log_text(logger.run_id, OmegaConf.to_yaml(cfg, resolve=True), "config.yaml")
        trainer.fit(model, datamodule=datamodule)
        best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
        if best:
            model.load_state_dict(torch.load(best, map_location="cpu", weights_only=False)["state_dict"])
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
        if trainer.checkpoint_callback and trainer.checkpoint_callback.best_model_score is not None:
            metrics[f"best_{trainer.checkpoint_callback.monitor}"] = float(trainer.checkpoint_callback.best_model_score)
    if trainer.is_global_zero:
        with atomic_dir(cfg.paths.models) as out:
            save_net(out / "model.pt", net_config, model.net)
            runs.write_run_ref(out / "run.json", logger.run_id if logger else None, cfg.tracking.uri if logger else None, cfg.tracking.experiment if logger else None)
        print(f"trained {cfg.name}: " + ", ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items())) + f" → {Path(cfg.paths.models)}")
    return metrics


main = hydra_entry(run)

if __name__ == "__main__":
    main()
