"""Stage entry points: prepare → train → evaluate → register. Each is `python -m pipelines.<stage>`."""

import sys

if sys.argv[:1] == ["-m"]:  # this package is being imported to run one of its modules: a stage process
    from dlforge import gc_tuning

    gc_tuning.tune()  # before the stage's imports (dlforge.gc_tuning says why)
