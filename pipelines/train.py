"""Train: prepared tensors → Lightning fit → models/<use_case>/{model.pt, run.json}.

Trainer, model, optimiser, callbacks and logger all come from config (`_target_`). The MLflow run
gets the composed config (as params and as config.yaml), per-epoch train/val curves and lineage
tags; its id goes to run.json so evaluate and register log into the same run.

Scaling out: with several devices this process launches one DDP worker per device on the resolved
config (dlforge.distributed, pipelines/train_worker.py), so Hydra runs once per job. Every rank runs `fit`; only global rank 0
logs to MLflow and writes the outputs.

Resuming (dlforge.models.resume): checkpoints go to a persistent folder keyed by config and data; a
re-run after a kill resumes from its last.ckpt into the same MLflow run (or a new one tagged with the
run it resumes) and prints the epoch it resumed from. Runs left RUNNING by a killed process are
closed as KILLED first (dlforge.tracking.liveness). The folder is removed once the outputs are written.
"""

from __future__ import annotations

from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

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
    check(cfg, ["model", "trainer", "callbacks", "logger", "train", "paths", "tracking"])
    prepared_data.load(cfg.paths.prepared)  # fail here, not in every worker, when prepare has not run
    as_trial(cfg)  # inside a multirun: trial tags, parent run, a model folder of its own
    if distributed.needs_launch(cfg.trainer, cfg.train.batch_size):
        return distributed.launch(cfg, train_worker.__name__)
    return fit(cfg)


def fit(cfg: DictConfig) -> dict[str, float]:
    """Train on this process's share of the data; every DDP rank runs this."""
    import pytorch_lightning as pl
    import torch
    from pytorch_lightning.utilities import rank_zero_only

    from dlforge.data.batches import InMemoryDataModule
    from dlforge.models import fast_log, resume
    from dlforge.models.checkpoint import save_net
    from dlforge.tracking import datasets, journal, lineage, liveness, machine, runs
    from dlforge.tracking.share_run import ShareRunId

    limit_threads(cfg.train.threads)
    fast_log.install()  # each self.log skips Lightning's re-move of a result already in place
    data = prepared_data.load(cfg.paths.prepared)
    pl.seed_everything(cfg.seed, workers=True)
    tensors = arrays(data, cfg.train.memory_budget_mb)
    checkpoint_io = resume.AtomicCheckpointIO(cfg.train.checkpoint_every_s)  # checks the key before any run starts
    net_config = {
        **OmegaConf.to_container(cfg.model.net, resolve=True),
        **data.meta["net"],
    }  # shapes come from the data
    model = instantiate(cfg.model, net=net_config, **data.meta["module"])
    if cfg.train.compile:
        model.net = torch.compile(model.net)
    datamodule = InMemoryDataModule(
        tensors["train"],
        tensors["val"],
        cfg.train.batch_size,
        cfg.train.eval_batch_size,
        cfg.seed,
        cfg.train.batches_per_step,
    )

    ckpts = resume.folder(cfg)
    done = resume.epochs_done(ckpts.last) if ckpts.last else 0
    logger = False
    if cfg.logger and rank_zero_only.rank == 0:  # only global rank 0 talks to MLflow (rank from the launcher's env)
        client = runs.client(cfg.tracking.uri)
        liveness.close_stale(client, cfg.tracking.experiment)
        tags = {**lineage.tags(cfg.paths.prepared), **cfg.tracking.tags, **liveness.owner_tags(), **machine.tags()}
        if cfg.train.tuned_by:
            tags[K.SWEEP_RUN_ID] = cfg.train.tuned_by
        previous = ckpts.run_id() if ckpts.last else None
        run_id = previous if previous and runs.exists(client, previous) else None
        if previous and run_id is None:
            tags[K.RESUMED_FROM_RUN] = previous  # that run was deleted: a new one names it
        if run_id:
            liveness.claim(client, run_id)
        logger = instantiate(cfg.logger, tags=tags, run_id=run_id)
        ckpts.save_run_id(logger.run_id)
        if done:
            client.set_tag(logger.run_id, K.RESUMED_FROM_EPOCH, str(done))
    if done and rank_zero_only.rank == 0:
        print(f"resumed from epoch {done}: {ckpts.last}")
    curves = instantiate(cfg.curves) if cfg.curves and rank_zero_only.rank == 0 else None  # DVC curves (conf/curves/)
    loggers = [lg for lg in (logger, curves) if lg]  # MLflow first: the run id comes from it
    if loggers:  # ours write in batches; the journal keeps every point for a resumed fit (dlforge.tracking.journal)
        earlier = journal.completed(ckpts.journal, done)
        for lg in loggers:
            if hasattr(lg, "replay"):  # a logger that writes each point as it comes (Lightning's own) has none
                lg.replay(earlier)
        loggers.append(journal.CurveJournal(ckpts.journal))
    share = ShareRunId()
    callbacks = resume.checkpointing([instantiate(c) for c in cfg.callbacks.values() if c is not None], ckpts) + [share]
    pruning = None
    if cfg.sweep.trial is not None:  # a trial of the dlforge Optuna sweeper
        from dlforge.sweeps.pruning import OptunaPruning

        pruning = OptunaPruning(
            cfg.sweep.storage,
            cfg.sweep.study,
            cfg.sweep.trial,
            cfg.sweep.objective.removeprefix(K.BEST),
            cfg.sweep.pruner,
        )
        callbacks.append(pruning)
    trainer = instantiate(
        cfg.trainer,
        callbacks=callbacks,
        logger=loggers,
        default_root_dir=ckpts.path,
        plugins=[checkpoint_io],
    )
    if logger and trainer.is_global_zero:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
        logger.experiment.log_text(logger.run_id, OmegaConf.to_yaml(cfg, resolve=True), "config.yaml")
        datasets.log(logger.experiment, logger.run_id, data, cfg.name)  # the splits as MLflow dataset inputs
    trainer.fit(model, datamodule=datamodule, ckpt_path=ckpts.last, weights_only=True)
    checkpoint = trainer.checkpoint_callback
    if checkpoint and checkpoint.best_model_path and trainer.is_global_zero:
        model.load_state_dict(
            torch.load(checkpoint.best_model_path, map_location="cpu", weights_only=True)["state_dict"]
        )
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
    if checkpoint and checkpoint.best_model_score is not None:
        metrics[K.BEST + checkpoint.monitor] = float(checkpoint.best_model_score)
    if pruning and pruning.pruned:
        metrics["pruned"] = 1.0
        if logger and trainer.is_global_zero:
            logger.experiment.set_tag(logger.run_id, K.TRIAL_STATE, "PRUNED")
            logger.experiment.set_terminated(logger.run_id, "KILLED")
    if trainer.is_global_zero:
        net = getattr(model.net, "_orig_mod", model.net)  # the module inside torch.compile's wrapper
        with atomic_dir(cfg.paths.models) as out:
            save_net(out / "model.pt", net_config, net)
            runs.write_run_ref(
                out / "run.json",
                share.run_id,
                cfg.tracking.uri if logger else None,
                cfg.tracking.experiment if logger else None,
            )
        ckpts.clean()  # the outputs are written: nothing left to resume
        print(
            f"trained {cfg.name} on {trainer.world_size} process(es): "
            + ", ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items()))
            + f" → {Path(cfg.paths.models)}"
        )
    return metrics


def arrays(data: prepared_data.Prepared, budget_mb: float) -> dict[str, tuple]:
    """Train/val (x, y) as in-memory tensors when they fit `train.memory_budget_mb`, else streamed from
    the memory-mapped x files (dlforge.data.batches.MappedRows: the same batches, read batch by batch);
    the targets y (one number per row) stay in memory, for the nets that start from train statistics."""
    import torch

    from dlforge.data.batches import MappedRows

    if budget_mb <= 0:
        raise UserError(f"config key 'train.memory_budget_mb': {budget_mb}; expected a positive number of MB")
    size_mb = data.nbytes("train", "val") / 2**20
    if size_mb <= budget_mb:
        return {s: tuple(torch.from_numpy(a) for a in data.arrays(s)) for s in ("train", "val")}
    print(f"streaming batches from {data.path}: train+val arrays {size_mb:.0f} MB > train.memory_budget_mb={budget_mb}")
    return {s: (MappedRows(data.file(s, "x")), torch.from_numpy(data.arrays(s)[1])) for s in ("train", "val")}


main = hydra_entry(run)

if __name__ == "__main__":
    main()
