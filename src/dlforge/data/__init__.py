"""Data: raw sources, validation, deterministic splits and preprocessing fitted on train only.

`sources/`: where raw rows come from; `families/`: one module per kind of data (its spec and preprocessing);
the modules here are the core every family shares (the spec and preprocessor contracts, columns, splits,
validation, the prepared folder, batches, log-mel features).

Nothing in this package imports torch: the prepare stage stays light. `batches` is the exception
and is imported only by training.
"""
