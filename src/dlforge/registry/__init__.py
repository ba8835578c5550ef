"""Model registry: log the servable model, register a version, gate the `champion` alias."""
