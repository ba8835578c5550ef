"""A user's folder of images, one subfolder per class: <path>/<class>/*.png|jpg|jpeg.

Returns the same one-row-per-image table as the built-in image sources (pixel columns p0.. in
[0, 255] and a `label` column holding the subfolder name), so `dlforge.data.specs.ImageClassification`
reads it unchanged. Images are converted to 8-bit grayscale (the CNN takes one channel) and resized.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dlforge.errors import UserError

EXTENSIONS = (".png", ".jpg", ".jpeg")


def image_folder(path: str, size: list[int]) -> pd.DataFrame:
    """Every image under <path>/<class>/, resized to `size` = [height, width], in sorted order."""
    root = Path(path)
    if not root.is_dir():
        raise UserError(f"data.source.path: folder '{path}' does not exist")
    classes = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise UserError(f"data.source.path: folder '{path}' has no class subfolders (expected {path}/<class>/<image>.png)")
    files = [(f, d.name) for d in classes for f in sorted(d.iterdir()) if f.is_file() and f.suffix.lower() in EXTENSIONS]
    if not files:
        raise UserError(f"data.source.path: no {'/'.join(EXTENSIONS)} images in the class subfolders of '{path}' ({', '.join(d.name for d in classes)})")
    pixels = np.stack([_read(f, size) for f, _ in files])
    df = pd.DataFrame(pixels.reshape(len(files), -1), columns=[f"p{i}" for i in range(pixels[0].size)])
    df["label"] = [label for _, label in files]
    return df


def _read(file: Path, size: list[int]) -> np.ndarray:
    """One image as an (height, width) uint8 array; a file Pillow cannot decode is named in the error."""
    from PIL import Image

    height, width = size
    try:
        with Image.open(file) as img:
            return np.asarray(img.convert("L").resize((width, height), Image.Resampling.BILINEAR), dtype=np.uint8)
    except Exception as e:
        raise UserError(f"data.source.path: cannot read image '{file}': {' '.join(str(e).split())}") from e
