"""Where raw rows come from: datasets shipped in packages, the user's own table, image and WAV folders, and
the spoken-digit corpus synthesised offline. Each source returns raw columns; a data spec says what they mean."""
