"""Typed configuration: the schema Hydra merges first, and checks of `_target_` sections."""
