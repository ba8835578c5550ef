"""Sweeps: an MLflow parent run per multirun, per-trial tags and paths, Optuna pruning, the winner's write-back."""
