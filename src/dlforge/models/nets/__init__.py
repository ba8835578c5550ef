"""Plain torch networks. Shape arguments (in_shape, num_classes, vocab_size, ...) come from the prepared data (meta.json "net")."""
