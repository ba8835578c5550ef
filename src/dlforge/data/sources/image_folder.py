"""A user's folder of images, one subfolder per class: <path>/<class>/*.png|jpg|jpeg.

Returns the same one-row-per-image table as the built-in image sources (pixel columns p0.. in
[0, 255] and a `label` column holding the subfolder name), so `dlforge.data.families.image_classification.ImageClassification`
reads it unchanged. Images are converted to 8-bit grayscale (the CNN takes one channel) and resized.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dlforge.errors import UserError

EXTENSIONS = (".png", ".jpg", ".jpeg")


MODES = ("1", "L", "LA", "P", "RGB", "RGBA")  # 8-bit modes that convert to grayscale without clipping


def class_folders(path: str, example: str) -> list[Path]:
    """The class subfolders of a bring-your-own folder (<path>/<class>/<example>), sorted; one line if none."""
    root = Path(path)
    if not root.is_dir():
        raise UserError(f"data.source.path: folder '{path}' does not exist")
    classes = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise UserError(
            f"data.source.path: folder '{path}' has no class subfolders (expected {path}/<class>/{example})"
        )
    return classes


def image_folder(path: str, size: list[int], resize: bool = True) -> pd.DataFrame:
    """Every image under <path>/<class>/, resized to `size` = [height, width], in sorted order.

    With resize=False an image of another size is an error naming the file (nothing is stretched).
    """
    classes = class_folders(path, "<image>.png")
    files = [
        (f, d.name) for d in classes for f in sorted(d.iterdir()) if f.is_file() and f.suffix.lower() in EXTENSIONS
    ]
    if not files:
        raise UserError(
            f"data.source.path: no {'/'.join(EXTENSIONS)} images in the class subfolders of '{path}' ({', '.join(d.name for d in classes[:5])}{f' … and {len(classes) - 5} more' if len(classes) > 5 else ''})"
        )
    empty = [d for d in classes if not any(label == d.name for _, label in files)]
    if empty:
        raise UserError(
            f"data.source.path: folder '{empty[0]}' has no {'/'.join(EXTENSIONS)} images; expected at least 3 per class (or remove the folder)"
        )
    pixels = np.stack([_read(f, size, resize) for f, _ in files])
    df = pd.DataFrame(pixels.reshape(len(files), -1), columns=[f"p{i}" for i in range(pixels[0].size)])
    df["label"] = [label for _, label in files]
    return df


def _read(file: Path, size: list[int], resize: bool) -> np.ndarray:
    """One image as an (height, width) uint8 array; a file Pillow cannot decode is named in the error."""
    from PIL import Image, UnidentifiedImageError

    height, width = size
    try:
        with Image.open(file) as img:
            img.load()
            if img.mode not in MODES:
                raise UserError(
                    f"data.source.path: image '{file}': mode {img.mode}; expected 8-bit grayscale or colour ({', '.join(MODES)})"
                )
            if not resize and img.size != (width, height):
                raise UserError(
                    f"data.source.path: image '{file}': {img.height}x{img.width} pixels; expected {height}x{width} (data.shape), or set data.source.resize=true"
                )
            return np.asarray(img.convert("L").resize((width, height), Image.Resampling.BILINEAR), dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as e:
        raise UserError(
            f"data.source.path: image '{file}': not a readable image ({' '.join(str(e).split())[:150]})"
        ) from None
