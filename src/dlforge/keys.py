"""Names that several modules must agree on: MLflow tag keys, extras.npz keys, metric and report prefixes.

One place each; code reads them from here rather than retyping the string. (Classes that saved
artifacts name are in dlforge.names; metric directions in dlforge.tasks.directions.)
"""

from __future__ import annotations

# lineage of a training run and of the versions registered from it (dlforge.tracking.lineage)
GIT_COMMIT = "dlforge.git_commit"
GIT_DIRTY = "dlforge.git_dirty"
DATA_HASH = "dlforge.data_hash"  # dlforge.io.tree_hash of the prepared folder; the MLflow datasets' digest
LINEAGE = (GIT_COMMIT, GIT_DIRTY, DATA_HASH)

# the machine a run trained on (dlforge.tracking.machine)
CPU = "dlforge.cpu"
TORCH_THREADS = "dlforge.torch_threads"
TORCH_VERSION = "dlforge.torch_version"

# evaluate: train rows the baselines were fitted on, when task.baseline_rows sampled them (absent: all rows)
BASELINE_TRAIN_ROWS = "dlforge.baseline_train_rows"

# sweeps: a trial's run, and the sweep whose winner a training run was configured by
TRIAL = "dlforge.trial"
SWEEP_RUN_ID = "dlforge.sweep_run_id"

# the registry gate's decision on a model version: GATE + a figure's name (metric, promoted, ci_low, ...)
GATE = "dlforge.gate."
GATE_APPLIED = GATE + "applied"  # its aliases have moved (a killed register leaves a version without it)

# what train returns for each monitored value: BEST + the checkpoint's monitor (best_val_loss, best_val_fd)
BEST = "best_"
# evaluate's entries that are references a perfect model would reach, not baselines (floor_real_train)
FLOOR = "floor_"

# extras.npz keys (dlforge.data.prepared): written by a data spec at prepare time, read by its task or net
SERIES, TIME = "series", "time"  # forecasting: the whole series and its times (dlforge.data.timeseries)


def positions(split: str) -> str:
    """Forecasting: the positions in SERIES of a split's targets."""
    return f"{split}_positions"


RANK_USER, RANK_ITEM = "rank_user", "rank_movie"  # recommendation: the (user, item) pairs HR@k and NDCG@k rank
JUDGE_W, JUDGE_B, JUDGE_SCALE = "judge_w{}", "judge_b{}", "judge_scale"  # GANs: frozen judge's layer i, pixel scale
