"""Train: prepared tensors → Lightning fit → models/<use_case>/{model.pt, run.json}.

`fit` reads as a recipe: build the data, the model, the checkpoint folder, the MLflow run and the
Trainer; fit; export. Model, trainer, callbacks and logger come from config (`_target_`). A re-run after
a kill resumes from the folder's last.ckpt (dlforge.models.checkpoints: keyed by config, data and code)
into the same MLflow run (dlforge.tracking.training_run) and prints the epoch it resumed from.

With several devices this process launches one DDP worker per device on the resolved config
(dlforge.distributed, pipelines/train_worker.py); every rank runs `fit`, and only global rank 0 logs
and writes the outputs.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

from omegaconf import DictConfig

from dlforge import distributed
from dlforge import keys as K
from dlforge.config.validate import check
from dlforge.data import prepared as prepared_data
from dlforge.errors import UserError
from dlforge.io import atomic_dir
from dlforge.sweeps.trial import as_trial
from dlforge.threads import limit as limit_threads
from pipelines import train_worker
from pipelines._entry import hydra_entry


def run(cfg: DictConfig) -> dict[str, float]:
    check(cfg, ["model", "trainer", "callbacks", "logger", "curves", "train", "paths", "tracking"])
    prepared_data.load(cfg.paths.prepared)  # fail here, not in every worker, when prepare has not run
    as_trial(cfg)  # inside a multirun: trial tags, parent run, a model folder of its own
    if distributed.needs_launch(cfg.trainer, cfg.train.batch_size):
        return distributed.launch(cfg, train_worker.__name__)
    return fit(cfg)


def fit(cfg: DictConfig) -> dict[str, float]:
    """Train on this process's share of the data; every DDP rank runs this."""
    import pytorch_lightning as pl
    from pytorch_lightning.utilities import rank_zero_only

    from dlforge.models import build, checkpoints
    from dlforge.models.export import save_net
    from dlforge.tracking import training_run

    data, datamodule = build_data(cfg)
    limit_threads(cfg.train.threads)  # before any tensor maths
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    model, net_config = build.module(cfg.model, data.meta, cfg.train.compile)
    folder = checkpoints.open_folder(cfg, data.path)
    rank0 = rank_zero_only.rank == 0  # from the launcher's environment, before the Trainer exists
    run = training_run.open(cfg, data, folder.run_id, folder.epochs_done) if cfg.logger and rank0 else None
    if folder.last and rank0:
        print(f"resumed from epoch {folder.epochs_done}: {folder.last}")

    with run or nullcontext():  # the run ends FINISHED, or FAILED on an exception
        trainer = build.trainer(cfg, folder, run)
        trainer.fit(model, datamodule=datamodule, ckpt_path=folder.last, weights_only=True)
        metrics, best_epoch = results(trainer, model)

    if trainer.is_global_zero:
        with atomic_dir(cfg.paths.models) as out:
            save_net(out / "model.pt", net_config, model.net)
            training_run.write_ref(out / "run.json", run, best_epoch)
        folder.clean()  # the outputs are written: nothing left to resume
        print(
            f"trained {cfg.name} on {trainer.world_size} process(es): "
            + ", ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items()))
            + f" → {Path(cfg.paths.models)}"
        )
    return metrics


def build_data(cfg: DictConfig) -> tuple[prepared_data.Prepared, object]:
    """The prepared data and its DataModule: train/val batches in memory, or streamed from the memory-mapped
    x files above `train.memory_budget_mb` (the same batches)."""
    import torch

    from dlforge.data.batches import InMemoryDataModule, MappedRows

    data = prepared_data.load(cfg.paths.prepared)
    budget_mb = cfg.train.memory_budget_mb
    if budget_mb <= 0:
        raise UserError(f"config key 'train.memory_budget_mb': {budget_mb}; expected a positive number of MB")
    size_mb = data.nbytes("train", "val") / 2**20
    if size_mb <= budget_mb:
        tensors = {s: tuple(torch.from_numpy(a) for a in data.arrays(s)) for s in ("train", "val")}
    else:
        print(
            f"streaming batches from {data.path}: train+val arrays {size_mb:.0f} MB > train.memory_budget_mb={budget_mb}"
        )
        tensors = {s: (MappedRows(data.file(s, "x")), torch.from_numpy(data.arrays(s)[1])) for s in ("train", "val")}
    t = cfg.train
    return data, InMemoryDataModule(
        tensors["train"], tensors["val"], t.batch_size, t.eval_batch_size, cfg.seed, t.batches_per_step
    )


def results(trainer, model) -> tuple[dict[str, float], int]:
    """The fit's last metrics, `best_<monitor>`, and `pruned` when the sweep's pruner stopped it; the best
    checkpoint's weights loaded into `model` (the final weights with no monitor). Returns the epoch those
    weights come from too."""
    import torch

    from dlforge.sweeps.pruning import OptunaPruning

    metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
    if any(isinstance(c, OptunaPruning) and c.pruned for c in trainer.callbacks):
        metrics["pruned"] = 1.0  # the sweeper tells Optuna the trial was pruned
    best_epoch = trainer.current_epoch - 1
    checkpoint = trainer.checkpoint_callback
    if checkpoint and checkpoint.best_model_path and trainer.is_global_zero:
        best = torch.load(checkpoint.best_model_path, map_location="cpu", weights_only=True)
        model.load_state_dict(best["state_dict"])
        best_epoch = int(best["epoch"])
    if checkpoint and checkpoint.best_model_score is not None:
        metrics[K.BEST + checkpoint.monitor] = float(checkpoint.best_model_score)
    return metrics, best_epoch


main = hydra_entry(run)

if __name__ == "__main__":
    main()
