"""pure: render a phantom as four co-registered MR series of valid DICOM (MR Image Storage).

UIDs, names and dates are all derived from the seed (and, for a follow-up, the visit), so the same
seed gives byte-identical studies. Visit 0 is the baseline: the demo study itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import dcmwrite
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    ExplicitVRLittleEndian,
    MRImageStorage,
    generate_uid,
)

from neuronova_lab.synthetic.acquisition import SeriesSpec
from neuronova_lab.synthetic.phantom import Phantom


@dataclass(frozen=True)
class SequenceProtocol:
    """What a scanner writes for one contrast (values typical of a 1.5 T brain protocol)."""

    name: str  # phantom sequence key
    scanning_sequence: str
    sequence_variant: str
    repetition_time: float
    echo_time: float
    inversion_time: float | None
    contrast: bool


PROTOCOLS: tuple[SequenceProtocol, ...] = (
    SequenceProtocol("T1", "SE", "SP", 500.0, 12.0, None, False),
    SequenceProtocol("T2", "SE", "SK\\SP", 4000.0, 100.0, None, False),
    SequenceProtocol("FLAIR", "SE\\IR", "SK\\SP\\MP", 9000.0, 120.0, 2500.0, False),
    SequenceProtocol("T1c", "SE", "SP", 500.0, 12.0, None, True),
)


def uid(*parts: object) -> str:
    return str(generate_uid(entropy_srcs=["neuronova-synthetic", *map(str, parts)]))


@dataclass(frozen=True)
class Visit:
    """Which study of the patient this is: the baseline (0) or a later follow-up."""

    number: int = 0
    study_date: str = "20260101"

    def uid(self, seed: int, *parts: object) -> str:
        # The baseline keeps the UIDs the demo study always had.
        return uid(seed, *parts) if self.number == 0 else uid(seed, f"visit{self.number}", *parts)


BASELINE = Visit()


def _study(seed: int, visit: Visit = BASELINE) -> Dataset:
    ds = Dataset()
    ds.PatientName = f"SYNTHETIC^PHANTOM{seed:05d}"
    ds.PatientID = f"NN-SYN-{seed:05d}"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.StudyInstanceUID = visit.uid(seed, "study")
    ds.StudyDate = visit.study_date
    ds.StudyTime = f"{9 + seed % 8:02d}0000"
    ds.AccessionNumber = f"SYN{seed:05d}" + (f"V{visit.number}" if visit.number else "")
    ds.ReferringPhysicianName = ""
    ds.StudyID = f"{seed % 10000}" + (f"-{visit.number}" if visit.number else "")
    ds.StudyDescription = "MRI BRAIN WITH AND WITHOUT CONTRAST"
    return ds


def _series_header(
    seed: int, number: int, proto: SequenceProtocol, series: SeriesSpec, visit: Visit
) -> Dataset:
    ds = _study(seed, visit)
    ds.Modality = "MR"
    ds.SeriesInstanceUID = visit.uid(seed, "series", proto.name)
    ds.SeriesNumber = number
    ds.SeriesDescription = series.description
    ds.ProtocolName = series.description
    ds.SeriesDate = ds.StudyDate
    ds.SeriesTime = ds.StudyTime
    ds.BodyPartExamined = "HEAD"
    ds.PatientPosition = "HFS"
    ds.FrameOfReferenceUID = visit.uid(seed, "frame-of-reference")
    ds.PositionReferenceIndicator = ""
    ds.Manufacturer = "NeuroNova"
    ds.ManufacturerModelName = "Synthetic phantom"
    ds.SoftwareVersions = "neuronova-synthetic 2"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "OTHER"]
    ds.ScanningSequence = proto.scanning_sequence.split("\\")
    ds.SequenceVariant = proto.sequence_variant.split("\\")
    ds.ScanOptions = ""
    ds.MRAcquisitionType = "3D" if series.three_d else "2D"
    ds.SequenceName = proto.name.lower()
    ds.RepetitionTime = proto.repetition_time
    ds.EchoTime = proto.echo_time
    if proto.inversion_time is not None:
        ds.InversionTime = proto.inversion_time
    ds.EchoTrainLength = 1
    ds.MagneticFieldStrength = 1.5
    ds.ImagingFrequency = 63.87
    ds.ImagedNucleus = "1H"
    if proto.contrast:
        ds.ContrastBolusAgent = "GADOLINIUM"
        ds.ContrastBolusRoute = "IV"
    grid = series.grid
    spacing = grid.spacing
    ds.SliceThickness = float(round(series.thickness_mm, 4))
    ds.SpacingBetweenSlices = float(round(spacing[0], 4))
    ds.PixelSpacing = [float(round(spacing[1], 6)), float(round(spacing[2], 6))]
    col = grid.affine[:3, 2] / spacing[2]  # direction of increasing column index
    row = grid.affine[:3, 1] / spacing[1]
    ds.ImageOrientationPatient = [float(round(v, 6)) for v in (*col, *row)]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = grid.shape[1], grid.shape[2]
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.SOPClassUID = MRImageStorage
    return ds


def series_datasets(phantom: Phantom, visit: Visit = BASELINE) -> list[Dataset]:
    """Every instance of the four series, ready to write or send."""
    seed = phantom.seed
    out: list[Dataset] = []
    for number, proto in enumerate(PROTOCOLS, start=1):
        rendered = phantom.by_sequence(proto.name)
        header = _series_header(seed, number, proto, rendered.spec, visit)
        volume = rendered.pixels
        affine = rendered.grid.affine
        normal = affine[:3, 0] / np.linalg.norm(affine[:3, 0])
        centre = int(np.percentile(volume[::2, ::4, ::4], 99) // 2) or 1
        n = volume.shape[0]
        for k in range(n):
            ds = Dataset()
            ds.update(header)
            ds.SOPInstanceUID = visit.uid(seed, proto.name, k)
            ds.InstanceNumber = (n - k) if rendered.spec.reverse else (k + 1)
            ds.AcquisitionNumber = 1
            position = affine[:3, :3] @ np.array([k, 0, 0]) + affine[:3, 3]
            ds.ImagePositionPatient = [float(round(v, 4)) for v in position]
            ds.SliceLocation = float(round(float(position @ normal), 4))
            ds.WindowCenter = centre
            ds.WindowWidth = 2 * centre
            ds.PixelData = np.ascontiguousarray(volume[k]).tobytes()
            ds.file_meta = FileMetaDataset()
            ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
            out.append(ds)
    return out


def to_bytes(ds: Dataset) -> bytes:
    buf = BytesIO()
    dcmwrite(buf, ds, enforce_file_format=True)
    return buf.getvalue()
