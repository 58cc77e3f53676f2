"""pure: resample co-registered volumes onto the model's grid and normalise intensities."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage  # type: ignore[import-untyped]

from neuronova_inference.manifest import GridSpec, Normalisation


@dataclass(frozen=True)
class Volume:
    """A scalar volume in patient space: array index (k, r, c) -> LPS mm through ``affine``."""

    array: NDArray[np.float32]
    affine: NDArray[np.float64]

    @property
    def voxel_ml(self) -> float:
        return float(abs(np.linalg.det(self.affine[:3, :3]))) / 1000.0

    def centre(self) -> NDArray[np.float64]:
        mid = (np.array(self.array.shape, dtype=np.float64) - 1) / 2
        out: NDArray[np.float64] = self.affine[:3, :3] @ mid + self.affine[:3, 3]
        return out


def model_affine(grid: GridSpec, centre: NDArray[np.float64]) -> NDArray[np.float64]:
    """Affine of the model grid (its array order) centred on ``centre`` (LPS mm)."""
    sign = np.array([1.0, 1.0, 1.0]) if grid.orientation == "LPS" else np.array([-1.0, -1.0, 1.0])
    # LPS axis of each array axis: zyx -> (2, 1, 0), xyz -> (0, 1, 2).
    lps_axis = (2, 1, 0) if grid.axis_order == "zyx" else (0, 1, 2)
    affine = np.eye(4)
    for array_axis, axis in enumerate(lps_axis):
        col = np.zeros(3)
        col[axis] = sign[axis] * grid.spacing_mm[array_axis]
        affine[:3, array_axis] = col
    half = (np.array(grid.shape, dtype=np.float64) - 1) / 2
    affine[:3, 3] = centre - affine[:3, :3] @ half
    return affine


def resample(
    source: NDArray[np.float32],
    source_affine: NDArray[np.float64],
    target_shape: tuple[int, ...],
    target_affine: NDArray[np.float64],
    order: int,
) -> NDArray[np.float32]:
    """Sample ``source`` at the voxel centres of the target grid (outside the field of view: 0)."""
    to_source = np.linalg.inv(source_affine) @ target_affine
    out: NDArray[np.float32] = ndimage.affine_transform(
        source.astype(np.float32, copy=False),
        to_source[:3, :3],
        offset=to_source[:3, 3],
        output_shape=tuple(target_shape),
        order=order,
        mode="constant",
        cval=0.0,
        output=np.float32,
    )
    return out


def normalise(x: NDArray[np.float32], spec: Normalisation) -> NDArray[np.float32]:
    if spec.method == "zscore_nonzero":
        mask = x != 0
    else:
        mask = x > spec.foreground_threshold * float(np.percentile(x, 99))
    if int(mask.sum()) < 2:
        return np.zeros_like(x)
    mean = float(x[mask].mean())
    std = float(x[mask].std()) or 1.0
    out = (x - mean) / std
    if spec.method == "zscore_nonzero":
        out[~mask] = 0.0
    clipped: NDArray[np.float32] = np.clip(out, spec.clip[0], spec.clip[1]).astype(np.float32)
    return clipped


def to_model_space(
    volumes: list[Volume], grid: GridSpec, norm: Normalisation
) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
    """Stack the inputs (manifest order) on the model grid centred on the first volume.

    Returns the (1, C, *grid.shape) network input and the model grid's affine.
    """
    affine = model_affine(grid, volumes[0].centre())
    channels = [
        normalise(resample(v.array, v.affine, grid.shape, affine, order=1), norm) for v in volumes
    ]
    return np.stack(channels)[None].astype(np.float32), affine
