"""Pure: turn decoded pixels into the 8-bit images Orthanc's /preview and /rendered return.

Mirrors Orthanc 1.10: /preview stretches the frame's own min..max to 0..255; /rendered applies
the modality rescale, then the window (query ``window-center``/``window-width``, else the first
window in the tags, else min..max), optional ``width``/``height`` bounds, PNG or JPEG by Accept.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

Pixels = npt.NDArray[np.generic]
Grey8 = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Window:
    center: float
    width: float


def stretch(values: npt.NDArray[np.floating], low: float, high: float) -> Grey8:
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint8)
    scaled = (values - low) * (255.0 / (high - low))
    return np.asarray(np.clip(np.rint(scaled), 0, 255), dtype=np.uint8)


def preview(pixels: Pixels, photometric: str) -> Grey8:
    """Orthanc's /preview: colour as is, grey stretched min..max (MONOCHROME1 inverted)."""
    if pixels.ndim == 3:
        return to_uint8_colour(pixels)
    values = pixels.astype(np.float64)
    image = stretch(values, float(values.min()), float(values.max()))
    return 255 - image if photometric == "MONOCHROME1" else image


def to_uint8_colour(pixels: Pixels) -> Grey8:
    if pixels.dtype == np.uint8:
        return np.asarray(pixels, dtype=np.uint8)
    values = pixels.astype(np.float64)
    return stretch(values, float(values.min()), float(values.max()))


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def window_of(query: Mapping[str, str], tags: Mapping[str, object]) -> Window | None:
    center, width = _number(query.get("window-center")), _number(query.get("window-width"))
    if center is not None and width is not None and width > 0:
        return Window(center, width)
    center, width = _first(tags.get("WindowCenter")), _first(tags.get("WindowWidth"))
    if center is not None and width is not None and width > 0:
        return Window(center, width)
    return None


def _first(value: object) -> float | None:
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    return _number(None if value is None else str(value))


def rendered(
    pixels: Pixels, photometric: str, tags: Mapping[str, object], query: Mapping[str, str]
) -> Grey8:
    """Orthanc's /rendered for one frame."""
    if pixels.ndim == 3:
        return to_uint8_colour(pixels)
    slope = _first(tags.get("RescaleSlope")) or 1.0
    intercept = _first(tags.get("RescaleIntercept")) or 0.0
    values = pixels.astype(np.float64) * slope + intercept
    window = window_of(query, tags)
    if window is None:
        image = stretch(values, float(values.min()), float(values.max()))
    else:
        low = window.center - window.width / 2
        image = stretch(values, low, low + window.width)
    return 255 - image if photometric == "MONOCHROME1" else image


def encode(image: Grey8, *, accept: str, query: Mapping[str, str]) -> tuple[bytes, str]:
    """PNG unless the client asks for JPEG only; ``width``/``height`` bound the size."""
    picture = Image.fromarray(image)
    width, height = _number(query.get("width")), _number(query.get("height"))
    if width or height:
        bound = (int(width or picture.width), int(height or picture.height))
        picture.thumbnail(bound, Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    if "image/jpeg" in accept and "image/png" not in accept:
        quality = int(_number(query.get("quality")) or 90)
        picture.save(buffer, format="JPEG", quality=max(1, min(quality, 100)))
        return buffer.getvalue(), "image/jpeg"
    picture.save(buffer, format="PNG")
    return buffer.getvalue(), "image/png"
