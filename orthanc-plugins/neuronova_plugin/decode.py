"""Pure: decode stored instances for clients that cannot read HTJ2K.

Frames are decoded with imagecodecs (OpenJPH, the codec that wrote them); a whole instance is
decompressed to Explicit VR Little Endian with pydicom's decoders.
"""

from __future__ import annotations

import io
import warnings

import imagecodecs
import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.encaps import generate_frames
from pydicom.uid import ExplicitVRLittleEndian

from neuronova_plugin.pixels import BIG_ENDIAN
from neuronova_plugin.policy import HTJ2K
from neuronova_plugin.render import Pixels


class DecodeError(ValueError):
    """The instance or frame cannot be decoded (unknown frame, no pixel data...)."""


def read(data: bytes) -> Dataset:
    return dcmread(io.BytesIO(data))


def transfer_syntax(ds: Dataset) -> str:
    return str(ds.file_meta.get("TransferSyntaxUID", ""))


def frame_count(ds: Dataset) -> int:
    return int(ds.get("NumberOfFrames") or 1)


def decode_frame(ds: Dataset, index: int) -> Pixels:
    """One frame's pixel values (rows, columns[, samples]); HTJ2K via imagecodecs."""
    if "PixelData" not in ds:
        raise DecodeError("no pixel data")
    count = frame_count(ds)
    if not 0 <= index < count:
        raise DecodeError(f"frame {index} out of range (0..{count - 1})")
    if transfer_syntax(ds) in HTJ2K:
        frames = generate_frames(ds.PixelData, number_of_frames=count)
        for position, frame in enumerate(frames):
            if position == index:
                return np.asarray(imagecodecs.htj2k_decode(frame))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.pixel_array_options(index=index, as_rgb=True)
        return np.asarray(ds.pixel_array)


def photometric_after_decoding(ds: Dataset) -> str:
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    return "RGB" if photometric.startswith("YBR") else photometric


def to_explicit_little_endian(ds: Dataset) -> bytes:
    """The whole instance, pixel data decompressed (colour as RGB), Explicit VR Little Endian."""
    stored = transfer_syntax(ds)
    if stored == BIG_ENDIAN:
        raise DecodeError("Explicit VR Big Endian instances are served as stored")
    if "PixelData" in ds and ds.file_meta.TransferSyntaxUID.is_compressed:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds.decompress(as_rgb=True, generate_instance_uid=False)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def frame_little_endian(ds: Dataset, index: int) -> bytes:
    """Raw uncompressed bytes of one frame (little endian, colour-by-pixel)."""
    pixels = decode_frame(ds, index)
    return np.ascontiguousarray(pixels).astype(pixels.dtype.newbyteorder("<")).tobytes()
