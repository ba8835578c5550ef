"""Stage entry points: prepare → train → evaluate → register. Each is `python -m pipelines.<stage>`."""
