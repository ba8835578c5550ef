"""dlforge: reproducible deep-learning pipelines (DVC stages, Hydra configs, Lightning, MLflow)."""

__version__ = "0.1.0"
