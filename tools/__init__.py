"""Tools around the stages: dvc.yaml's generated blocks, the results table, seed runs, sweep workers.

Each is `python -m tools.<name>`. Tools may import pipelines/ and dlforge; neither imports tools/.
"""

import sys

if sys.argv[:1] == ["-m"]:  # this package is being imported to run one of its modules: a tool process
    from dlforge import gc_tuning

    gc_tuning.tune()  # before the tool's imports, as for a stage (dlforge.gc_tuning says why)
