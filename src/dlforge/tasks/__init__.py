"""Tasks: what a kind of problem means for evaluation — metrics, classical baseline, plots, gate."""
