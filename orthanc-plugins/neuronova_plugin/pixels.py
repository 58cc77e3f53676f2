"""Pure: the original pixel values of a received instance, one array per frame.

Uncompressed data is read straight from the stored words (any byte order) so nothing is
reinterpreted; lossless-compressed data is decoded by pydicom's decoders (pylibjpeg,
its own RLE). Bits above High Bit are not pixel data: an instance whose words use them (retired
embedded overlays, junk) is kept as received rather than losing those bits.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset

from neuronova_plugin.policy import NATIVE

BIG_ENDIAN = "1.2.840.10008.1.2.2"
Frames = npt.NDArray[np.integer]  # (frames, rows, columns[, samples])


class PixelError(ValueError):
    """The pixel data cannot be read exactly; ``reason`` names it for metrics."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def _geometry(ds: Dataset) -> tuple[int, int, int, int]:
    frames = int(ds.get("NumberOfFrames") or 1)
    rows, columns = int(ds.Rows), int(ds.Columns)
    samples = int(ds.SamplesPerPixel)
    if min(frames, rows, columns, samples) < 1:
        raise PixelError("bad-geometry", f"{frames}x{rows}x{columns}x{samples}")
    return frames, rows, columns, samples


def _check_high_bits(words: Frames, bits_stored: int, signed: bool) -> Frames:
    """Return the pixel values; refuse words whose bits above High Bit carry information."""
    bits_allocated = words.dtype.itemsize * 8
    if bits_stored == bits_allocated:
        return words
    if not signed:
        if int(words.max(initial=0)) >> bits_stored:
            raise PixelError("bits-above-high-bit")
        return words
    low = words.astype(np.int32) & ((1 << bits_stored) - 1)
    sign = 1 << (bits_stored - 1)
    values = (low ^ sign) - sign
    as_signed = words.astype(np.int32)
    # High bits must be a proper sign extension (values == words) or all zero (low == words).
    if not (np.array_equal(values, as_signed) or np.array_equal(low, as_signed)):
        raise PixelError("bits-above-high-bit")
    return values.astype(words.dtype)


def native_frames(ds: Dataset, transfer_syntax: str) -> Frames:
    frames, rows, columns, samples = _geometry(ds)
    bytes_per = int(ds.BitsAllocated) // 8
    signed = int(ds.PixelRepresentation) == 1
    order = ">" if transfer_syntax == BIG_ENDIAN else "<"
    dtype = np.dtype(f"{order}{'i' if signed else 'u'}{bytes_per}")
    raw: bytes = ds.PixelData
    if order == ">" and bytes_per == 1 and ds["PixelData"].VR == "OW":
        # 8-bit samples in big-endian 16-bit words: each byte pair is swapped on the wire.
        even = len(raw) - len(raw) % 2
        raw = np.frombuffer(raw, np.uint8, count=even).reshape(-1, 2)[:, ::-1].tobytes()
    expected = frames * rows * columns * samples * bytes_per
    if len(raw) < expected:
        raise PixelError("truncated-pixel-data", f"{len(raw)} < {expected} bytes")
    if len(raw) > expected + (expected % 2):  # only the even-length pad byte may follow
        raise PixelError("pixel-data-length", f"{len(raw)} > {expected} bytes")
    words = np.frombuffer(raw, dtype=dtype, count=expected // bytes_per)
    words = words.astype(dtype.newbyteorder("="))
    shaped: Frames
    if samples == 1:
        shaped = words.reshape(frames, rows, columns)
    elif int(ds.get("PlanarConfiguration", 0)) == 1:
        shaped = words.reshape(frames, samples, rows, columns).transpose(0, 2, 3, 1)
    else:
        shaped = words.reshape(frames, rows, columns, samples)
    return _check_high_bits(np.ascontiguousarray(shaped), int(ds.BitsStored), signed)


def decoded_frames(ds: Dataset) -> Frames:
    """Decode lossless-compressed pixel data with pydicom, without any colour conversion."""
    frames, rows, columns, samples = _geometry(ds)
    try:
        ds.pixel_array_options(as_rgb=False)
        array = ds.pixel_array
    except Exception as exc:
        raise PixelError("decode-error", repr(exc)) from exc
    shape = (frames, rows, columns) if samples == 1 else (frames, rows, columns, samples)
    if array.size != int(np.prod(shape)):
        raise PixelError("decode-error", f"decoded shape {array.shape}, expected {shape}")
    return np.ascontiguousarray(array.reshape(shape))


def original_frames(ds: Dataset, transfer_syntax: str) -> Frames:
    if "PixelData" not in ds:
        raise PixelError("no-pixel-data")
    if int(ds.get("HighBit", -1)) != int(ds.BitsStored) - 1:
        raise PixelError("high-bit")
    if transfer_syntax in NATIVE:
        return native_frames(ds, transfer_syntax)
    return decoded_frames(ds)
