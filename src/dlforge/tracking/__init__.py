"""MLflow tracking: where runs go, and the lineage every run and model version carries."""
