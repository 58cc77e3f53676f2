"""pure: draw the acquisitions of a study: plane, tilt, thickness, matrix, FOV, coverage, names.

A study either shares one acquisition grid between its four series (a classic 2-D protocol) or
gives each series its own (a 3-D sagittal T1, axial T2, coronal FLAIR...), as ranges decide.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from neuronova_lab.synthetic.anatomy import Anatomy
from neuronova_lab.synthetic.geometry import Grid, plane_grid, rotation
from neuronova_lab.synthetic.ranges import Ranges

# Above this many voxels a series' in-plane matrix is reduced (a 512 x 512 x 200 3-D series
# would dominate the training budget; such protocols are rare in brain MR).
MAX_SERIES_VOXELS = 24_000_000

_PLANE_NAMES = {"axial": ("AX", "tra"), "sagittal": ("SAG", "sag"), "coronal": ("COR", "cor")}
# Scanner-style descriptions by sequence; {P}/{p} are the plane in two vendors' spellings.
_NAMES = {
    "T1": ("{P} T1 SE", "t1_se_{p}", "T1W_SE_{P}", "{P} T1 FLASH 2D"),
    "T1c": ("{P} T1 SE +C", "t1_se_{p} POST", "T1W_SE_{P} GD", "{P} T1 POST GAD"),
    "T2": ("{P} T2 TSE", "t2_tse_{p}", "T2W_TSE_{P}", "{P} T2 FSE"),
    "FLAIR": ("{P} T2 FLAIR", "t2_tirm_{p}_dark-fluid", "FLAIR_{P}", "{P} T2 FLAIR FS"),
}
_NAMES_3D = {
    "T1": ("SAG T1 MPRAGE", "t1_mprage_{p}_iso", "3D T1W TFE {P}"),
    "T1c": ("SAG T1 MPRAGE +C", "t1_mprage_{p}_iso POST", "3D T1W TFE {P} GD"),
    "T2": ("3D T2 SPACE {P}", "t2_space_{p}_iso", "3D T2W VISTA {P}"),
    "FLAIR": ("3D FLAIR {P}", "t2_space_dark-fluid_{p}_iso", "3D FLAIR VISTA {P}"),
}


@dataclass(frozen=True)
class SeriesSpec:
    sequence: str  # T1, T1c, T2 or FLAIR
    grid: Grid
    plane: str
    thickness_mm: float
    snr: float
    bias: float
    description: str
    reverse: bool  # instances numbered from the last slice (some scanners go S->I)

    @property
    def three_d(self) -> bool:
        return self.thickness_mm <= 1.5 and abs(self.grid.spacing[0] - self.thickness_mm) < 1e-6


@dataclass(frozen=True)
class _Acquisition:
    grid: Grid
    plane: str
    thickness_mm: float


def _extent_along(anatomy: Anatomy, direction: NDArray[np.float64]) -> float:
    """Length of the posed head ellipsoid along a unit direction."""
    local = anatomy.pose().T @ direction
    return float(2 * np.sqrt(((local * np.array(anatomy.head_axes)) ** 2).sum()))


def _acquisition(rng: np.random.Generator, ranges: Ranges, anatomy: Anatomy) -> _Acquisition:
    plane = str(rng.choice(ranges.orientations))
    thickness = ranges.thickness_mm.draw(rng)
    gap = 0.0 if rng.random() < 0.6 else ranges.gap_fraction.draw(rng)
    spacing = thickness * (1.0 + gap)
    matrix = max(32, round(ranges.matrix.draw(rng) / 8) * 8)
    fov = ranges.fov_mm.draw(rng)
    axis = rng.normal(size=3)
    tilt = rotation(axis, ranges.tilt_deg.draw(rng))
    base = plane_grid(
        plane, rows=2, columns=2, slices=2, pixel_mm=1, slice_spacing_mm=1, centre=np.zeros(3)
    )
    normal = tilt @ (base.affine[:3, 0] / base.spacing[0])
    extent = _extent_along(anatomy, normal)
    slab = ranges.coverage.draw(rng) * extent
    slices = max(3, round(slab / spacing))
    phase = ranges.phase_fov.draw(rng)
    rows, columns = matrix, matrix
    # Phase encoding along the head's short axis: left-right, or superior-inferior on sagittals.
    if plane == "sagittal":
        rows = max(16, round(matrix * phase / 8) * 8)
    else:
        columns = max(16, round(matrix * phase / 8) * 8)
    while rows * columns * slices > MAX_SERIES_VOXELS:
        rows, columns = int(rows * 0.9), int(columns * 0.9)
    pixel = fov / matrix
    centre = np.array(anatomy.head_centre) + rng.uniform(-10, 10, 3)
    shift = max(0.0, extent - slab) / 2
    centre = centre + normal * rng.uniform(-shift, shift)
    grid = plane_grid(
        plane,
        rows=rows,
        columns=columns,
        slices=slices,
        pixel_mm=pixel,
        slice_spacing_mm=spacing,
        centre=centre,
        tilt=tilt,
    )
    return _Acquisition(grid, plane, thickness)


def _description(rng: np.random.Generator, sequence: str, acq: _Acquisition) -> str:
    pool = _NAMES_3D if acq.thickness_mm <= 1.5 else _NAMES
    big, small = _PLANE_NAMES[acq.plane]
    template = str(rng.choice(pool[sequence]))
    return template.replace("{P}", big).replace("{p}", small)


def plane_of(grid: Grid) -> str:
    """The standard plane closest to a grid's slices (by its slice normal)."""
    normal = np.abs(grid.affine[:3, 0]) / grid.spacing[0]
    return ("sagittal", "coronal", "axial")[int(np.argmax(normal))]


def draw_series(
    rng: np.random.Generator,
    ranges: Ranges,
    anatomy: Anatomy,
    grids: Mapping[str, Grid] | None,
) -> tuple[SeriesSpec, ...]:
    """Series in scanner order (T1, T2, FLAIR, T1c); ``grids`` imposes each sequence's grid."""
    shared = rng.random() >= ranges.p_own_grids
    first = _acquisition(rng, ranges, anatomy)
    out = []
    for sequence in ("T1", "T2", "FLAIR", "T1c"):
        if grids is not None:
            grid = grids[sequence]
            acq = _Acquisition(grid, plane_of(grid), float(grid.spacing[0]))
            big = _PLANE_NAMES[acq.plane][0]
            description = _NAMES[sequence][0].replace("{P}", big)
        else:
            acq = first if shared else _acquisition(rng, ranges, anatomy)
            description = _description(rng, sequence, acq)
        out.append(
            SeriesSpec(
                sequence=sequence,
                grid=acq.grid,
                plane=acq.plane,
                thickness_mm=acq.thickness_mm,
                snr=ranges.snr.draw(rng),
                bias=ranges.bias.draw(rng),
                description=description,
                reverse=grids is None and bool(rng.random() < 0.3),
            )
        )
    return tuple(out)
