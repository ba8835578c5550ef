"""torch's intra-op thread count, from config (`train.threads`).

Results are reproducible for a given thread count only (parallel reductions add in another order),
and torch's default is one thread per core, so pinning the count makes a use case give the same
metrics on any machine. Small networks pin 1: on a busy 2-core machine they trained 5-10x faster on
one thread than on two; on an idle one two threads are a little faster (docs/use-cases.md).
"""

from __future__ import annotations


def limit(threads: int | None) -> None:
    """Use `threads` intra-op threads in this process; None keeps torch's default (one per core)."""
    if threads:
        import torch

        torch.set_num_threads(threads)
