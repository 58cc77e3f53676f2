"""pure: assemble a 3-D volume in patient space from the instances of one series.

Slices are sorted along the slice normal (not by InstanceNumber); a series with mixed geometry,
duplicate positions or a gap between slices is refused with a reason a person can act on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset

from neuronova_inference.preprocess import Volume

# Relative tolerance on slice spacing: scanners round positions to 0.01 mm or so.
SPACING_TOLERANCE = 0.05


class VolumeError(ValueError):
    """The series cannot be turned into a volume; the message is the user-facing reason."""


def _geometry(ds: Dataset) -> tuple[tuple[float, ...], tuple[float, float], int, int, str]:
    try:
        return (
            tuple(round(float(v), 4) for v in ds.ImageOrientationPatient),
            (round(float(ds.PixelSpacing[0]), 4), round(float(ds.PixelSpacing[1]), 4)),
            int(ds.Rows),
            int(ds.Columns),
            str(ds.get("FrameOfReferenceUID", "")),
        )
    except (AttributeError, TypeError, ValueError, IndexError) as exc:
        raise VolumeError(
            f"instance {ds.get('SOPInstanceUID', '?')} lacks plane geometry ({exc})"
        ) from exc


def sort_slices(datasets: Sequence[Dataset]) -> tuple[list[Dataset], NDArray[np.float64], float]:
    """Sort along the normal; returns the slices, the 4x4 index->LPS affine and the spacing."""
    if len(datasets) < 2:
        raise VolumeError(f"series has {len(datasets)} slice(s); a volume needs at least 2")
    geometries = {_geometry(ds) for ds in datasets}
    if len(geometries) != 1:
        raise VolumeError(
            "mixed geometry in one series "
            "(orientation, pixel spacing, matrix or frame of reference differ)"
        )
    orientation, pixel_spacing, _, _, _ = geometries.pop()
    row_dir = np.array(orientation[:3])  # direction of increasing column index
    col_dir = np.array(orientation[3:])
    normal = np.cross(row_dir, col_dir)
    positions = [np.array([float(v) for v in ds.ImagePositionPatient]) for ds in datasets]
    order = np.argsort([float(p @ normal) for p in positions])
    along = np.array([float(positions[i] @ normal) for i in order])
    steps = np.diff(along)
    if np.any(steps < 1e-3):
        raise VolumeError("two slices share the same position (duplicate or multi-echo series)")
    spacing = float(np.median(steps))
    bad = np.flatnonzero(np.abs(steps - spacing) > SPACING_TOLERANCE * spacing)
    if bad.size:
        k = int(bad[0])
        raise VolumeError(
            f"slice gap: {steps[k]:.2f} mm between slices {k + 1} and {k + 2} "
            f"where the series spacing is {spacing:.2f} mm"
        )
    affine = np.eye(4)
    affine[:3, 0] = normal * spacing
    affine[:3, 1] = col_dir * pixel_spacing[0]
    affine[:3, 2] = row_dir * pixel_spacing[1]
    affine[:3, 3] = positions[order[0]]
    return [datasets[i] for i in order], affine, spacing


def build_volume(
    datasets: Sequence[Dataset], pixels: Callable[[Dataset], NDArray[np.float32]]
) -> tuple[Volume, list[Dataset]]:
    """The series as a Volume (k, r, c) plus its sorted instances (the SEG's source images)."""
    ordered, affine, _ = sort_slices(datasets)
    planes = []
    for ds in ordered:
        try:
            arr = pixels(ds)
        except Exception as exc:
            raise VolumeError(
                f"instance {ds.get('SOPInstanceUID', '?')} cannot be decoded: {exc}"
            ) from exc
        if arr.shape != (int(ds.Rows), int(ds.Columns)):
            raise VolumeError(
                f"instance {ds.SOPInstanceUID} decodes to {arr.shape}, expected a single frame"
            )
        slope = float(ds.get("RescaleSlope", 1) or 1)
        intercept = float(ds.get("RescaleIntercept", 0) or 0)
        planes.append(arr.astype(np.float32) * slope + intercept)
    return Volume(array=np.stack(planes).astype(np.float32), affine=affine), ordered
