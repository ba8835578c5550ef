"""A user's folder of WAV files, one subfolder per class: <path>/<class>/*.wav.

Returns one row per file (column `audio`: the float32 mono waveform, `label`: the subfolder name,
`file`: its path) for `dlforge.data.families.audio_classification.AudioClassification`. Every file must be at `sample_rate`
(nothing is resampled); a file that is not a readable WAV, one at another rate and a class folder
without WAV files each stop prepare with one line naming the file or folder.
"""

from __future__ import annotations

import pandas as pd

from dlforge.data.sources.image_folder import class_folders
from dlforge.data.sources.wav import expect_rate, read_wav
from dlforge.errors import UserError


def audio_folder(path: str, sample_rate: int) -> pd.DataFrame:
    """Every <path>/<class>/*.wav in sorted order, checked to be at `sample_rate`."""
    classes = class_folders(path, "<clip>.wav")
    rows = []
    for folder in classes:
        files = sorted(f for f in folder.iterdir() if f.is_file() and f.suffix.lower() == ".wav")
        if not files:
            raise UserError(
                f"data.source.path: folder '{folder}' has no .wav files; expected at least 3 per class (or remove the folder)"
            )
        for f in files:
            samples, rate = read_wav(f, "data.source.path")
            expect_rate(f, rate, sample_rate, "data.source.path")
            rows.append((samples, folder.name, str(f)))
    return pd.DataFrame(rows, columns=["audio", "label", "file"])
