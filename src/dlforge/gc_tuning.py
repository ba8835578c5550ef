"""The garbage collector of a stage process: rarer passes while it runs, none over its objects at exit.

A stage imports torch, Lightning, MLflow, Hydra and sklearn: hundreds of thousands of objects that live
until the process ends. Python's cyclic collector keeps making full passes over them while they pile up,
and again at exit. `tune()` raises the first generation's threshold (rarer passes) and registers
`gc.freeze()` as an atexit handler (the exit's collections skip every object): seconds per stage
(docs/benchmarks.md). Atexit handlers, `with` blocks and finally clauses still run, and every file
dlforge writes is closed before the stage returns. A stage process is tuned before its imports
(pipelines/__init__.py) and every process that runs a stage's job, such as a parallel sweep's workers,
when its job starts (pipelines/_entry.py).
"""

from __future__ import annotations

import atexit
import gc

FIRST_GENERATION_THRESHOLD = 50_000  # new tracked objects between passes over the youngest generation (CPython: 700)


def tune() -> None:
    """Rarer collections for the rest of this process, and none over its objects at exit (once per process)."""
    first, older, oldest = gc.get_threshold()
    if first == FIRST_GENERATION_THRESHOLD:
        return
    gc.set_threshold(FIRST_GENERATION_THRESHOLD, older, oldest)
    atexit.register(gc.freeze)  # handlers run last-registered first: this one after those registered later
