"""The hand-written baseline of the training-overhead benchmark: the maths of an epoch and nothing else.

    python benchmarks/hand_loop.py experiment=credit_default paths.prepared=... --epochs 6 --out t.json

Composes the same config as the train stage, builds the same network, optimiser and `TensorBatches`
over the same prepared tensors with the same seed and thread count, then runs per epoch: every
training batch (forward, the module's loss, backward, optimiser step) and one validation pass
(forward + loss, averaged), as someone would write it without Lightning. No metrics objects, no
logging, no checkpoint: whatever the train stage spends on top of this is overhead.
Writes {"epoch_s": [...], "epoch_cpu_s": [...], "rows": n} like benchmarks.epoch_timer.EpochTimer.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def loss_fn(module):
    """The loss the module's training_step computes (same function, no metrics, no self.log)."""
    from torch import nn

    from dlforge.models.classifier import Classifier
    from dlforge.models.regressor import Regressor

    if isinstance(module, Classifier):
        return lambda x, y: nn.functional.cross_entropy(module(x), y)
    if isinstance(module, Regressor):
        return lambda x, y: nn.functional.mse_loss(module(x), y.float())
    raise SystemExit(f"no hand loop for {type(module).__name__}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("overrides", nargs="*")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    import torch
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    import dlforge.config.schema  # noqa: F401  (registers the schema)
    from dlforge.data import prepared as prepared_data
    from dlforge.data.batches import TensorBatches
    from dlforge.threads import limit

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=args.overrides)
    limit(cfg.train.threads)
    torch.manual_seed(cfg.seed)
    data = prepared_data.load(cfg.paths.prepared)
    train, val = (tuple(torch.from_numpy(a) for a in data.arrays(s)) for s in ("train", "val"))
    net_config = {**OmegaConf.to_container(cfg.model.net, resolve=True), **data.meta["net"]}
    module = instantiate(cfg.model, net=net_config, **data.meta["module"])
    optimizer = module.configure_optimizers()
    loss = loss_fn(module)
    train_batches = TensorBatches(*train, cfg.train.batch_size, True, cfg.seed)
    val_batches = TensorBatches(*val, cfg.train.eval_batch_size, False, cfg.seed)

    torch.use_deterministic_algorithms(bool(cfg.trainer.get("deterministic", False)))  # as the Trainer does
    times, cpu = [], []
    for _ in range(args.epochs):
        start, start_cpu = time.perf_counter(), time.process_time()
        module.train()
        for x, y in train_batches:
            optimizer.zero_grad()
            loss(x, y).backward()
            optimizer.step()
        module.eval()
        with torch.no_grad():
            val_loss = sum(float(loss(x, y)) * len(y) for x, y in val_batches) / len(val[1])
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    Path(args.out).write_text(
        json.dumps({"epoch_s": times, "epoch_cpu_s": cpu, "rows": len(train[1]), "val_loss": val_loss})
    )


if __name__ == "__main__":
    main()
