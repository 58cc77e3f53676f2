"""pure: regular grids in patient space (LPS mm) and the acquisition planes a scanner uses.

A grid maps array index (k, r, c) to LPS through a 4x4 affine: k runs along the slice normal,
r down the rows (DICOM column direction), c along a row (DICOM row direction).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

# (row direction = increasing column index, column direction = increasing row index) as scanners
# write ImageOrientationPatient for each plane; the slice normal is their cross product.
PLANES: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "axial": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),  # normal +S
    "sagittal": ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0)),  # normal -L (towards the right)
    "coronal": ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0)),  # normal +P
}


@dataclass(frozen=True)
class Grid:
    """A regular grid: array index (k, r, c) -> LPS mm through ``affine`` (4x4)."""

    shape: tuple[int, int, int]
    affine: NDArray[np.float64]

    def points(self) -> NDArray[np.float64]:
        """LPS coordinates of every voxel centre, shape (3, *shape)."""
        idx = np.indices(self.shape, dtype=np.float64).reshape(3, -1)
        pts = self.affine[:3, :3] @ idx + self.affine[:3, 3:4]
        return pts.reshape((3, *self.shape))

    @property
    def spacing(self) -> NDArray[np.float64]:
        """Step of each array axis in mm (slice spacing, row spacing, column spacing)."""
        out: NDArray[np.float64] = np.linalg.norm(self.affine[:3, :3], axis=0)
        return out

    @property
    def voxel_ml(self) -> float:
        return float(abs(np.linalg.det(self.affine[:3, :3]))) / 1000.0


def axial_grid(
    shape: tuple[int, int, int], spacing: tuple[float, float, float], centre: NDArray[np.float64]
) -> Grid:
    """Axial slices ordered inferior to superior; rows run along +P, columns along +L."""
    dz, dr, dc = spacing
    affine = np.eye(4)
    affine[:3, 0] = (0.0, 0.0, dz)
    affine[:3, 1] = (0.0, dr, 0.0)
    affine[:3, 2] = (dc, 0.0, 0.0)
    half = (np.array(shape, dtype=np.float64) - 1) / 2 * np.array(spacing)
    affine[:3, 3] = centre - np.array((half[2], half[1], half[0]))
    return Grid(shape=shape, affine=affine)


def demo_grid(small: bool = False) -> Grid:
    """The grid of `make demo` studies (and, ``small``, of integration tests)."""
    if small:
        return axial_grid((20, 64, 64), (7.0, 3.3, 3.3), np.zeros(3))
    return axial_grid((40, 96, 96), (4.0, 2.2, 2.2), np.zeros(3))


def rotation(axis: NDArray[np.float64], degrees: float) -> NDArray[np.float64]:
    """Rotation matrix about ``axis`` (Rodrigues)."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    t = np.deg2rad(degrees)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    out: NDArray[np.float64] = np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * (k @ k)
    return out


def plane_grid(
    plane: str,
    *,
    rows: int,
    columns: int,
    slices: int,
    pixel_mm: float,
    slice_spacing_mm: float,
    centre: NDArray[np.float64],
    tilt: NDArray[np.float64] | None = None,
) -> Grid:
    """A 2-D multi-slice (or 3-D) acquisition in ``plane``, optionally tilted (a 3x3 rotation).

    Square pixels; slices ordered along the normal; the grid is centred on ``centre``.
    """
    row_dir, col_dir = (np.array(v) for v in PLANES[plane])
    if tilt is not None:
        row_dir, col_dir = tilt @ row_dir, tilt @ col_dir
    normal = np.cross(row_dir, col_dir)
    affine = np.eye(4)
    affine[:3, 0] = normal * slice_spacing_mm
    affine[:3, 1] = col_dir * pixel_mm
    affine[:3, 2] = row_dir * pixel_mm
    half = (np.array((slices, rows, columns), dtype=np.float64) - 1) / 2
    affine[:3, 3] = centre - affine[:3, :3] @ half
    return Grid(shape=(slices, rows, columns), affine=affine)
