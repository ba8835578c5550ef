"""Names that several modules must agree on: MLflow tag keys, registry aliases, extras.npz keys, prefixes.

One place each; code reads them from here rather than retyping the string, and
tests/unit/core/test_keys.py fails on a `"dlforge.…"` tag or an alias literal anywhere else in src/ or pipelines/.
(Classes that saved artifacts name are in dlforge.class_names; metric directions in dlforge.tasks.directions.)
"""

from __future__ import annotations

PREFIX = "dlforge."  # every tag dlforge writes starts with it (copied from a run onto its model versions)

# the registry's aliases: the served version and the newest registered one (dlforge.registry.aliases)
CHAMPION, CHALLENGER = "champion", "challenger"
ALIAS_LOG = "dlforge.alias_log."  # + a sequence number: one alias move, as JSON, on the model and its version
LOCK_HOLDER = "dlforge.lock.holder"  # who holds a model's alias mutex (a registered model of its own)

# lineage of a training run and of the versions registered from it (dlforge.tracking.lineage)
GIT_COMMIT = "dlforge.git_commit"
GIT_DIRTY = "dlforge.git_dirty"
DATA_HASH = "dlforge.data_hash"  # dlforge.io.tree_hash of the prepared folder; the MLflow datasets' digest
LINEAGE = (GIT_COMMIT, GIT_DIRTY, DATA_HASH)

# the machine a run trained on (dlforge.tracking.machine)
CPU = "dlforge.cpu"
TORCH_THREADS = "dlforge.torch_threads"
TORCH_VERSION = "dlforge.torch_version"

# the process that owns a training run, so a resume can tell a live owner from a dead one (tracking.liveness)
HOST, PID = "dlforge.host", "dlforge.pid"
# a training resumed after a kill: the epoch it went on from, or the deleted run it replaces
RESUMED_FROM_EPOCH = "dlforge.resumed_from_epoch"
RESUMED_FROM_RUN = "dlforge.resumed_from_run"

# evaluate: train rows the baselines were fitted on, when task.baseline_rows sampled them (absent: all rows)
BASELINE_TRAIN_ROWS = "dlforge.baseline_train_rows"

# sweeps: a trial's run, and the sweep whose winner a training run was configured by
TRIAL = "dlforge.trial"
SWEEP_RUN_ID = "dlforge.sweep_run_id"
TRIAL_STATE = "dlforge.trial_state"  # PRUNED on a trial's run that the pruner stopped
OVERRIDES = "dlforge.overrides"  # a trial's Hydra overrides
SWEEP = "dlforge.sweep"  # "true" on a sweep's parent run
SWEEP_OVERRIDES = "dlforge.sweep_overrides"  # the sweep's own command-line overrides
STUDY = "dlforge.study"  # the Optuna study a sweep's trials belong to
OBJECTIVE, SAMPLER, PRUNER = "dlforge.objective", "dlforge.sampler", "dlforge.pruner"  # the study's set-up
BEST_TRIAL, PARETO_TRIALS = "dlforge.best_trial", "dlforge.pareto_trials"  # the study's outcome

# the registry gate's decision on a model version: GATE + a figure's name (metric, promoted, ci_low, ...)
GATE = "dlforge.gate."
GATE_APPLIED = GATE + "applied"  # its aliases have moved (a killed register leaves a version without it)

# `dlforge monitor` (dlforge.monitor): on its run, the model version judged and the verdict; on that version, its last run
MONITOR_MODEL, MONITOR_VERSION = "dlforge.monitor.model", "dlforge.monitor.version"
MONITOR_BATCH, MONITOR_VERDICT = "dlforge.monitor.batch", "dlforge.monitor.verdict"
MONITOR_LAST_RUN, MONITOR_LAST_VERDICT = "dlforge.monitor.last_run", "dlforge.monitor.last_verdict"
MONITOR_CONTEXT = "monitor"  # the batch's MLflow dataset input context

# what train returns for each monitored value: BEST + the checkpoint's monitor (best_val_loss, best_val_fd)
BEST = "best_"
# evaluate's entries that are references a perfect model would reach, not baselines (floor_real_train)
FLOOR = "floor_"

# extras.npz keys (dlforge.data.prepared): written by a data spec at prepare time, read by its task or net
SERIES, TIME = "series", "time"  # forecasting: the whole series and its times (dlforge.data.families.timeseries)


def positions(split: str) -> str:
    """Forecasting: the positions in SERIES of a split's targets."""
    return f"{split}_positions"


RANK_USER, RANK_ITEM = "rank_user", "rank_movie"  # recommendation: the (user, item) pairs HR@k and NDCG@k rank
JUDGE_W, JUDGE_B, JUDGE_SCALE = "judge_w{}", "judge_b{}", "judge_scale"  # GANs: frozen judge's layer i, pixel scale
