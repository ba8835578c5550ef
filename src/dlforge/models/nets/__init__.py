"""Plain torch networks. Each takes `in_shape` (from the prepared data) and `num_classes`."""
