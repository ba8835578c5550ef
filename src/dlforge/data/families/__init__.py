"""One module per data family: its spec (the contract in dlforge.data.spec) and, where it differs, its
preprocessing (a dlforge.data.preprocess.Preprocessor fitted on train only, applied again when serving)."""
