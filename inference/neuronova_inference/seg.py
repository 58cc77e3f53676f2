"""pure: build the DICOM SEG (highdicom BINARY) for a label map on the reference series.

UIDs are derived from the source series (with its patient and study), the model and its
version, so re-running the same job produces the same SEG identity and the store route replaces
rather than duplicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO

import highdicom as hd
import numpy as np
from neuronova_contracts.manifest import Code, Manifest
from numpy.typing import NDArray
from pydicom.dataset import Dataset
from pydicom.filewriter import dcmwrite
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

SEG_SERIES_NUMBER = 9001  # high, so viewers list the AI result after the acquisitions


def seg_uids(source: Dataset, manifest: Manifest) -> tuple[str, str]:
    """(SeriesInstanceUID, SOPInstanceUID) of the SEG for this source series and model version.

    Derived from the series' PatientID, StudyInstanceUID and SeriesInstanceUID (its identity in
    Orthanc): another patient's study that reuses the UIDs gets different SEG UIDs, so its SEG
    can never be taken for, or replace, this one.
    """
    identity = [str(source.PatientID), str(source.StudyInstanceUID), str(source.SeriesInstanceUID)]
    base = ["neuronova-seg", *identity, manifest.model_id, manifest.version]
    return (
        str(generate_uid(entropy_srcs=[*base, "series"])),
        str(generate_uid(entropy_srcs=[*base, "instance"])),
    )


def _concept(code: Code) -> hd.sr.CodedConcept:
    return hd.sr.CodedConcept(value=code.value, scheme_designator=code.scheme, meaning=code.meaning)


def segment_descriptions(manifest: Manifest) -> list[hd.seg.SegmentDescription]:
    algorithm = hd.AlgorithmIdentificationSequence(
        name=manifest.model_id,
        family=codes.cid7162.ArtificialIntelligence,
        version=manifest.version,
        source="NeuroNova",
    )
    return [
        hd.seg.SegmentDescription(
            segment_number=label.value,
            segment_label=label.name,
            segmented_property_category=_concept(label.category),
            segmented_property_type=_concept(label.property_type),
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm,
            anatomic_regions=[_concept(manifest.anatomy)],
            tracking_uid=str(
                generate_uid(entropy_srcs=[manifest.model_id, manifest.version, label.name])
            ),
            tracking_id=label.name,
            display_color=hd.color.CIELabColor.from_rgb(*label.color_rgb),
        )
        for label in manifest.labels
    ]


def build_seg(
    source_images: Sequence[Dataset],
    labels: NDArray[np.uint8],
    manifest: Manifest,
    *,
    needs_review: bool = False,
) -> Dataset:
    """A BINARY SEG: frame k is ``labels[k]`` on ``source_images[k]`` (sorted along the normal).

    The frames take their plane positions and orientation from the source images, so the SEG
    lies on the reference series' own geometry (sagittal, oblique, any spacing). Empty frames
    are omitted, as OHIF expects; an all-empty result still yields a valid SEG. A result that
    quality control flagged says so in its series description, which every viewer lists.
    """
    series_uid, sop_uid = seg_uids(source_images[0], manifest)
    description = f"AI tumour segmentation ({manifest.model_id} {manifest.version})"
    if needs_review:
        description = f"NEEDS REVIEW: {description}"
    return hd.seg.Segmentation(
        source_images=list(source_images),
        pixel_array=labels,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=segment_descriptions(manifest),
        series_instance_uid=series_uid,
        series_number=SEG_SERIES_NUMBER,
        sop_instance_uid=sop_uid,
        instance_number=1,
        manufacturer="NeuroNova",
        manufacturer_model_name=manifest.model_id,
        software_versions=manifest.version,
        device_serial_number="0",
        series_description=description[:64],
        content_label="AI_TUMOUR",
        content_description=manifest.name[:64],
        omit_empty_frames=True,
    )


def dicom_bytes(ds: Dataset) -> bytes:
    """The dataset as a DICOM Part 10 file (preamble, file meta)."""
    buf = BytesIO()
    dcmwrite(buf, ds, enforce_file_format=True)
    return buf.getvalue()
