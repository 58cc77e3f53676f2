"""Test data (pure): DICOM SEG instances shaped like the inference service's (highdicom BINARY).

A BINARY SEG packs one bit per pixel, frames back to back (PS3.5 8.1.1): its Columns need not be
a multiple of 8, and a SEG on a source grid of 250 columns is as valid as one on 256.
"""

from __future__ import annotations

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

# Type 2 attributes highdicom copies from the source images; empty when the source lacks them.
_COPIED = ("PatientBirthDate", "PatientSex", "StudyID", "ReferringPhysicianName")


def binary_seg(source: list[Dataset]) -> Dataset:
    """A one-segment BINARY SEG on ``source``'s own grid, a block marked on every slice."""
    source = [_with_copied_attributes(ds) for ds in source]
    rows, columns = int(source[0].Rows), int(source[0].Columns)
    mask = np.zeros((len(source), rows, columns), dtype=np.uint8)
    mask[:, rows // 4 : rows // 2, columns // 3 : columns // 2] = 1
    algorithm = hd.AlgorithmIdentificationSequence(
        name="test", version="1", family=hd.sr.CodedConcept("123109", "DCM", "Manual Processing")
    )
    segment = hd.seg.SegmentDescription(
        segment_number=1,
        segment_label="block",
        segmented_property_category=hd.sr.CodedConcept(
            "49755003", "SCT", "Morphologic abnormality"
        ),
        segmented_property_type=hd.sr.CodedConcept("108369006", "SCT", "Neoplasm"),
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
        algorithm_identification=algorithm,
    )
    return hd.seg.Segmentation(
        source_images=source,
        pixel_array=mask,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[segment],
        series_instance_uid=generate_uid(),
        series_number=99,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="NeuroNova tests",
        manufacturer_model_name="binary_seg",
        software_versions="1",
        device_serial_number="0",
    )


def _with_copied_attributes(ds: Dataset) -> Dataset:
    copy = ds.copy()
    for keyword in _COPIED:
        if keyword not in copy:
            setattr(copy, keyword, "")
    return copy
