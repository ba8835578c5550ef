"""torch's intra-op thread count, from config (`train.threads`).

Small networks (a 32-unit GRU, matrix factorisation, an 8x8 DCGAN) run several times faster on one
thread than on two on a 2-core machine, where thread hand-offs cost more than they save, and far
faster still when the CPU is busy. Results are reproducible for a given thread count.
"""

from __future__ import annotations


def limit(threads: int | None) -> None:
    """Use `threads` intra-op threads in this process; None keeps torch's default (one per core)."""
    if threads:
        import torch

        torch.set_num_threads(threads)
