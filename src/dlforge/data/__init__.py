"""Data: raw sources, validation, deterministic splits and preprocessing fitted on train only.

Nothing in this package imports torch: the prepare stage stays light. `batches` is the exception
and is imported only by training.
"""
