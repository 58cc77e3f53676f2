"""pure: resample co-registered volumes onto the model's grid and normalise intensities."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from neuronova_contracts.manifest import GridSpec, Normalisation
from numpy.typing import NDArray
from scipy import ndimage  # type: ignore[import-untyped]


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


def foreground_centre(volume: Volume) -> NDArray[np.float64]:
    """Patient-space centroid of the head: voxels above a quarter of the 99th percentile.

    Centring the model grid on the head rather than on the field of view keeps an off-centre or
    partial acquisition inside the model's field of view.
    """
    step = max(1, round(float(np.cbrt(volume.array.size / 2_000_000))))
    coarse = volume.array[::step, ::step, ::step]
    mask = coarse > 0.25 * float(np.percentile(coarse, 99))
    if int(mask.sum()) < 10:
        return volume.centre()
    index = np.argwhere(mask).mean(axis=0) * step
    out: NDArray[np.float64] = volume.affine[:3, :3] @ index + volume.affine[:3, 3]
    return out


def antialias(volume: Volume, target_mm: float) -> NDArray[np.float32]:
    """Low-pass a volume before sampling it on a coarser grid (Gaussian, per source axis).

    Without it, trilinear sampling of a fine acquisition keeps its full noise and aliases fine
    texture, so the network would see noisier inputs from finer scanners.
    """
    spacing = np.linalg.norm(volume.affine[:3, :3], axis=0)
    sigma = [0.4 * np.sqrt(max(0.0, target_mm**2 - s**2)) / s for s in spacing]
    if max(sigma) < 0.3:
        return volume.array
    out: NDArray[np.float32] = ndimage.gaussian_filter(
        volume.array.astype(np.float32, copy=False), sigma, mode="nearest", truncate=3.0
    )
    return out


def to_model_space(
    volumes: list[Volume], grid: GridSpec, norm: Normalisation, reference: int = 0
) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
    """Stack the inputs (manifest order) on the model grid centred on the reference input.

    Each series is resampled from its own geometry (any orientation, spacing or coverage), so
    the inputs need not share a grid, only a frame of reference. Returns the (1, C, *grid.shape)
    network input and the model grid's affine.
    """
    ref = volumes[reference]
    centre = foreground_centre(ref) if grid.centre == "foreground" else ref.centre()
    affine = model_affine(grid, centre)
    target_mm = min(grid.spacing_mm)
    channels = [
        normalise(resample(antialias(v, target_mm), v.affine, grid.shape, affine, order=1), norm)
        for v in volumes
    ]
    return np.stack(channels)[None].astype(np.float32), affine
