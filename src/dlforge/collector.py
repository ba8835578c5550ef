"""The garbage collector of a stage process: rarer passes while it runs, none over its objects at exit.

A stage (`python -m pipelines.<stage>`) imports torch, Lightning, MLflow, Hydra and sklearn: about
700,000 objects that Python's cyclic garbage collector tracks and that live until the process ends.
Two of the collector's habits then cost seconds per stage, measured on digits (2026-12-06, wall
time of `python -m pipelines.evaluate` / `register` on a trained model, two runs each):

- While they pile up, the collector keeps running full passes over everything so far: 9 full passes of
  ~170 ms in a train stage (timed with `gc.callbacks`), all before its fit starts.
  `tune()` raises the first generation's threshold from 700 to 50,000 new objects, so all passes are
  rarer. Young cyclic garbage then lives a little longer (at most 50,000 objects, a few MB).
- At exit, CPython's finalisation runs full collections over all of them again: 1.3 s for a bare
  `python -c "import pytorch_lightning"` (5.7 s → 4.4 s with `gc.freeze()` first), ~1.9 s after an
  evaluate stage (time from the last atexit handler to the process's end). `tune()` registers
  `gc.freeze()` as an atexit handler; a stage process registers it before its imports, so it runs
  after the handlers those register. The exit's collections then skip every object.

Together: evaluate 8.7-9.0 s → 5.2-5.8 s, register 8.1-8.9 s → 5.4-5.7 s (two runs each), train
11.3 → 9.7 s, prepare 2.0 → 1.7 s (one run each). What is given up: cyclic garbage still alive at exit
is not finalised by a collection, which Python never promised either. Atexit handlers (MLflow ending
its runs, logging flushing its handlers), `with` blocks and finally clauses all still run, the
standard streams are still flushed, and every file dlforge writes is closed before the stage returns
(by a `with` block; the curve journal, flushed line by line, by its logger's `finalize`).

Who is tuned: a stage process, before its imports (pipelines/__init__.py), and any process that runs a
stage's job (pipelines/_entry.py), such as the joblib workers of a parallel sweep. A sweep waits for
its workers' interpreters to exit, so their exit was on its critical path: 4 credit_default trials
of 20 epochs, 2 at once, took 18.9 s before and 16.6 s after (2026-12-06, `python -m
benchmarks.sweeps --repeats 2 --epochs 20`). Importing `pipelines` (tests, notebooks) changes nothing.
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
