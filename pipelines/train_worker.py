"""One DDP worker of the train stage, started by torchrun when the stage launches several processes.

`python -m pipelines.train` (the stage) saves its fully resolved config and runs this module once per
device through `torch.distributed.run` (dlforge.distributed.launch): each worker trains its share on
that config without composing it again (Hydra runs once per job), and rank 0 reports the metrics back.
Not meant to be run by hand: under your own torchrun or srun, run `pipelines.train` itself.
"""

from __future__ import annotations

from dlforge import distributed

if __name__ == "__main__":
    from pipelines.train import fit  # here, not at the top: pipelines.train imports this module

    distributed.worker(fit)
