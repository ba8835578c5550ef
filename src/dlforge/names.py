"""The former name of dlforge.class_names, kept importable: a model logged before the rename carries a
pyfunc.py that does `from dlforge import names` to resolve its task class, and must still load."""

from dlforge.class_names import resolve, stable

__all__ = ["resolve", "stable"]
