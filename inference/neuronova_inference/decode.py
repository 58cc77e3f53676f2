"""pure: pixel data of one single-frame instance as a 2-D array, HTJ2K included.

The plugin stores images as HTJ2K lossless, which pydicom's own handlers may not decode; those
transfer syntaxes go straight to imagecodecs (OpenJPH inside).
"""

from __future__ import annotations

import imagecodecs
import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset
from pydicom.encaps import generate_frames

HTJ2K_SYNTAXES = frozenset(
    {"1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203"}
)


def pixels(ds: Dataset) -> NDArray[np.float32]:
    """Decode frame 1; raises on corrupt or truncated data (the caller turns that into a reason)."""
    syntax = str(ds.file_meta.get("TransferSyntaxUID", "")) if hasattr(ds, "file_meta") else ""
    if syntax in HTJ2K_SYNTAXES:
        frame = next(generate_frames(ds.PixelData, number_of_frames=1))
        arr = np.asarray(imagecodecs.htj2k_decode(frame))
    else:
        arr = np.asarray(ds.pixel_array)
    if arr.shape != (int(ds.Rows), int(ds.Columns)):
        raise ValueError(f"decoded shape {arr.shape} != ({ds.Rows}, {ds.Columns})")
    return arr.astype(np.float32)
