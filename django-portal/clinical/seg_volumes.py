"""Pure: the volume (mL) of each segment of a DICOM SEG, counted from its own pixels.

The report's volumes after a radiologist's edit come from here, never from figures a client
sends. pydicom decodes the pixels (numpy counts them); the frames' segment numbers come from the
per-frame functional groups, so frames the writer omitted (empty ones, as
OHIF and highdicom do) simply count nothing and overlapping segments count each. BINARY frames
count their set pixels, FRACTIONAL frames their fractions, LABELMAP frames the pixels of each
label value.

Voxel size: the pixel spacing of the (shared or per-frame) Pixel Measures, times the slice
spacing: SpacingBetweenSlices when given, else the smallest distance between distinct frame
positions along the normal, else SliceThickness.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset

SEG_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4"


class SegUnreadable(ValueError):  # noqa: N818 - a refusal reason, the message tells which
    """Not a SEG this server can count (the message says why)."""


def _measures(ds: Dataset) -> Dataset:
    for groups in (
        ds.get("SharedFunctionalGroupsSequence"),
        ds.get("PerFrameFunctionalGroupsSequence"),
    ):
        if groups and "PixelMeasuresSequence" in groups[0]:
            found: Dataset = groups[0].PixelMeasuresSequence[0]
            return found
    raise SegUnreadable("the SEG gives no pixel measures")


def _normal(ds: Dataset) -> NDArray[np.float64] | None:
    for groups in (
        ds.get("SharedFunctionalGroupsSequence"),
        ds.get("PerFrameFunctionalGroupsSequence"),
    ):
        if groups and "PlaneOrientationSequence" in groups[0]:
            cosines = np.array(groups[0].PlaneOrientationSequence[0].ImageOrientationPatient, float)
            return np.cross(cosines[:3], cosines[3:])
    return None


def _positions(frames: Sequence[Any]) -> list[NDArray[np.float64]]:
    found = []
    for frame in frames:
        plane = frame.get("PlanePositionSequence")
        if plane and "ImagePositionPatient" in plane[0]:
            found.append(np.array(plane[0].ImagePositionPatient, float))
    return found


def _slice_mm(ds: Dataset, measures: Dataset, frames: Sequence[Any]) -> float:
    if measures.get("SpacingBetweenSlices"):
        return abs(float(measures.SpacingBetweenSlices))
    normal = _normal(ds)
    if normal is not None:
        along = sorted({round(float(np.dot(p, normal)), 3) for p in _positions(frames)})
        steps = [b - a for a, b in itertools.pairwise(along) if b - a > 0]
        if steps:
            return min(steps)
    if measures.get("SliceThickness"):
        return abs(float(measures.SliceThickness))
    raise SegUnreadable("the SEG gives neither slice spacing nor slice thickness")


def segment_volumes_ml(ds: Dataset) -> dict[str, float]:
    """Volume per SegmentLabel (mL), every described segment present (0.0 when empty)."""
    if str(ds.get("SOPClassUID", "")) != SEG_STORAGE:
        raise SegUnreadable("not a Segmentation Storage instance")
    seg = ds
    try:
        labels = {int(item.SegmentNumber): str(item.SegmentLabel) for item in seg.SegmentSequence}
    except (AttributeError, ValueError, TypeError) as exc:
        raise SegUnreadable(f"the SEG's segments cannot be read: {exc}") from exc
    frames = list(seg.get("PerFrameFunctionalGroupsSequence") or [])
    measures = _measures(seg)
    try:
        row_mm, column_mm = (float(v) for v in measures.PixelSpacing)
        voxel_ml = row_mm * column_mm * _slice_mm(seg, measures, frames) / 1000.0
    except (AttributeError, ValueError, TypeError) as exc:
        raise SegUnreadable(f"the SEG's pixel measures cannot be read: {exc}") from exc
    try:
        pixels = np.asarray(seg.pixel_array)
    except Exception as exc:  # pydicom raises many kinds for broken pixel data
        raise SegUnreadable(f"the SEG's pixel data cannot be read: {exc}") from exc
    if pixels.ndim == 2:
        pixels = pixels[np.newaxis]
    counts = dict.fromkeys(labels, 0.0)
    kind = str(seg.get("SegmentationType", "BINARY")).upper()
    if kind == "LABELMAP":
        _count_labelmap(pixels, counts)
    else:
        scale = float(seg.get("MaximumFractionalValue") or 1) if kind == "FRACTIONAL" else 1.0
        shared = (seg.get("SharedFunctionalGroupsSequence") or [Dataset()])[0]
        _count_frames(frames or [Dataset()] * len(pixels), pixels, scale, counts, shared)
    return {labels[n]: round(counts[n] * voxel_ml, 3) for n in sorted(labels)}


def referenced_series(ds: Dataset) -> frozenset[str]:
    """SeriesInstanceUIDs the SEG names in its ReferencedSeriesSequence (same study)."""
    return frozenset(
        str(item.SeriesInstanceUID)
        for item in ds.get("ReferencedSeriesSequence") or []
        if "SeriesInstanceUID" in item
    )


def _count_labelmap(pixels: NDArray[Any], counts: dict[int, float]) -> None:
    values, found = np.unique(pixels, return_counts=True)
    for value, count in zip(values.tolist(), found.tolist(), strict=True):
        if int(value) in counts:
            counts[int(value)] += float(count)


def _count_frames(
    frames: Sequence[Any],
    pixels: NDArray[Any],
    scale: float,
    counts: dict[int, float],
    shared: Dataset,
) -> None:
    """Per frame, its segment (per-frame group, else the shared one: highdicom shares it when
    every frame shows the same segment)."""
    if len(frames) != pixels.shape[0]:
        raise SegUnreadable("the SEG's frames and functional groups disagree")
    for frame, plane in zip(frames, pixels, strict=True):
        identified = frame if "SegmentIdentificationSequence" in frame else shared
        try:
            number = int(identified.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        except (AttributeError, IndexError, ValueError, TypeError) as exc:
            raise SegUnreadable("a frame names no segment") from exc
        if number not in counts:
            raise SegUnreadable(f"a frame names segment {number}, which is not described")
        counts[number] += float(plane.sum(dtype=np.float64)) / scale
