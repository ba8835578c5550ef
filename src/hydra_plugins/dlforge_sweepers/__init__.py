"""Hydra plugins shipped with dlforge (discovered by Hydra through the `hydra_plugins` namespace)."""
