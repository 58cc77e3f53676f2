"""Test data (pure): small DICOM images in every pixel format the codec handles.

Each image holds its format's extremes (0, the top of Bits Stored, the most negative value for
signed data) next to noise and gradients, on odd sizes, so a sign, byte-order or precision slip
changes pixels the tests compare.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    SecondaryCaptureImageStorage,
    generate_uid,
)


@dataclass(frozen=True)
class Kind:
    name: str
    bits_allocated: int
    bits_stored: int
    signed: bool
    samples: int = 1
    frames: int = 1
    photometric: str = "MONOCHROME2"
    planar: int = 0
    rows: int = 37
    columns: int = 53


KINDS = [
    Kind("grey8", 8, 8, signed=False),
    Kind("grey12", 16, 12, signed=False),
    Kind("grey16", 16, 16, signed=False),
    Kind("signed8", 8, 8, signed=True),
    Kind("signed16", 16, 16, signed=True),
    Kind("signed12", 16, 12, signed=True),
    Kind("mono1-12", 16, 12, signed=False, photometric="MONOCHROME1"),
    Kind("palette8", 8, 8, signed=False, photometric="PALETTE COLOR"),
    Kind("rgb8", 8, 8, signed=False, samples=3, photometric="RGB"),
    Kind("rgb8-planar", 8, 8, signed=False, samples=3, photometric="RGB", planar=1),
    Kind("grey12-multiframe", 16, 12, signed=False, frames=4),
    Kind("rgb8-multiframe", 8, 8, signed=False, samples=3, photometric="RGB", frames=3),
]
KIND = {k.name: k for k in KINDS}

Pixels = npt.NDArray[np.integer]  # (frames, rows, columns[, samples])


def pixels_for(kind: Kind, seed: int = 0) -> Pixels:
    rng = np.random.default_rng(seed)
    low = -(1 << (kind.bits_stored - 1)) if kind.signed else 0
    high = (1 << (kind.bits_stored - 1)) - 1 if kind.signed else (1 << kind.bits_stored) - 1
    shape: tuple[int, ...] = (kind.frames, kind.rows, kind.columns)
    if kind.samples > 1:
        shape = (*shape, kind.samples)
    y = np.linspace(0, 1, kind.rows)[None, :, None]
    x = np.linspace(0, 1, kind.columns)[None, None, :]
    if kind.samples > 1:
        y, x = y[..., None], x[..., None]
    smooth = low + (high - low) * (0.5 * x + 0.3 * y)
    values = smooth + rng.normal(0, (high - low) * 0.02, shape)
    values = np.clip(np.rint(values), low, high)
    flat = values.reshape(kind.frames, -1)
    flat[:, :4] = [low, high, low + 1, high - 1]  # extremes in every frame
    dtype = np.dtype(f"<{'i' if kind.signed else 'u'}{kind.bits_allocated // 8}")
    return values.astype(dtype)


def dataset_for(kind: Kind, pixels: Pixels | None = None) -> Dataset:
    """An Explicit VR Little Endian instance of ``kind`` (fresh UIDs)."""
    pixels = pixels_for(kind) if pixels is None else pixels
    sop_class = SecondaryCaptureImageStorage if kind.samples > 1 else MRImageStorage
    if kind.signed:
        sop_class = CTImageStorage
    sop = generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, sop
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientID, ds.PatientName = "NN-CODEC-0001", "Codec^Test"
    ds.StudyDate, ds.Modality = "20260101", "OT"
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    ds.SeriesDescription = kind.name
    ds.Rows, ds.Columns, ds.SamplesPerPixel = kind.rows, kind.columns, kind.samples
    ds.PhotometricInterpretation = kind.photometric
    if kind.samples > 1:
        ds.PlanarConfiguration = kind.planar
    if kind.frames > 1:
        ds.NumberOfFrames = kind.frames
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = (
        kind.bits_allocated,
        kind.bits_stored,
        kind.bits_stored - 1,
    )
    ds.PixelRepresentation = int(kind.signed)
    if kind.signed:
        ds.RescaleIntercept, ds.RescaleSlope = 0, 1
    if kind.photometric == "PALETTE COLOR":
        ramp = np.arange(256, dtype="<u2")
        for colour, table in (
            ("Red", ramp * 257),
            ("Green", (255 - ramp) * 257),
            ("Blue", ramp * 64),
        ):
            setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
            setattr(ds, f"{colour}PaletteColorLookupTableData", table.astype("<u2").tobytes())
    stored = pixels
    if kind.samples > 1 and kind.planar == 1:
        stored = np.ascontiguousarray(np.moveaxis(pixels, -1, 1))  # (frames, samples, rows, cols)
    ds.PixelData = stored.tobytes()
    ds["PixelData"].VR = "OB" if kind.bits_allocated == 8 else "OW"
    return ds


def to_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def read(data: bytes) -> Dataset:
    return dcmread(io.BytesIO(data))


def frames_of(ds: Dataset) -> Pixels:
    """Decoded pixels as (frames, rows, columns[, samples]), whatever the transfer syntax."""
    array = ds.pixel_array
    frames = int(ds.get("NumberOfFrames") or 1)
    if frames == 1:
        array = array[None, ...]
    return np.asarray(array)
