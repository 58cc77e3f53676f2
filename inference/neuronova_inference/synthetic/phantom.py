"""pure: a 3-D head phantom with a tumour, rendered as T1, T1c, T2 and FLAIR volumes.

Geometry is defined analytically in patient space (LPS, millimetres), so the same phantom can be
rendered on any grid. Labels follow the BraTS convention used by the shipped model:
0 background, 1 necrotic core, 2 oedema, 3 enhancing tumour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage  # type: ignore[import-untyped]

SEQUENCES: tuple[str, ...] = ("T1", "T1c", "T2", "FLAIR")

# Tissue classes used only inside the generator.
_BG, _SCALP, _SKULL, _CSF, _GM, _WM, _ED, _ET, _NCR = range(9)

# Relative signal per tissue (rows) and sequence (columns T1, T1c, T2, FLAIR).
_SIGNAL = np.array(
    [
        [0, 0, 0, 0],  # background
        [900, 900, 600, 700],  # scalp / fat
        [120, 120, 90, 90],  # skull
        [300, 300, 1500, 180],  # CSF (suppressed on FLAIR)
        [600, 620, 900, 820],  # grey matter
        [800, 810, 650, 600],  # white matter
        [520, 540, 1250, 1300],  # oedema
        [560, 1250, 1000, 1000],  # enhancing tumour (bright after contrast)
        [330, 340, 1450, 620],  # necrotic core
    ],
    dtype=np.float32,
)


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


@dataclass(frozen=True)
class PhantomParams:
    """Random draws of one phantom: everything derived from the seed, nothing else."""

    seed: int
    head_axes: tuple[float, float, float]
    rotation_deg: float
    tumour_centre: tuple[float, float, float]
    tumour_axes: tuple[float, float, float]
    core_fraction: float
    oedema_margin: float
    gains: tuple[float, float, float, float]


def draw_params(seed: int) -> PhantomParams:
    rng = np.random.default_rng(seed)
    head = (70.0 * rng.uniform(0.92, 1.08), 88.0 * rng.uniform(0.92, 1.08), 66.0)
    # Tumour inside the white matter, away from the midline ventricles some of the time.
    side = rng.choice([-1.0, 1.0])
    centre = (
        side * rng.uniform(8, 22),
        rng.uniform(-30, 30),
        rng.uniform(-5, 20),
    )
    radius = rng.uniform(14.0, 23.0)
    axes = tuple(float(radius * rng.uniform(0.8, 1.2)) for _ in range(3))
    return PhantomParams(
        seed=seed,
        head_axes=head,
        rotation_deg=float(rng.uniform(-8, 8)),
        tumour_centre=tuple(float(v) for v in centre),  # type: ignore[arg-type]
        tumour_axes=axes,  # type: ignore[arg-type]
        core_fraction=float(rng.uniform(0.45, 0.65)),
        oedema_margin=float(rng.uniform(8.0, 18.0)),
        gains=tuple(float(g) for g in rng.uniform(0.7, 1.4, size=4)),  # type: ignore[arg-type]
    )


def _smooth_noise(
    rng: np.random.Generator, shape: tuple[int, ...], coarse: int
) -> NDArray[np.float32]:
    """Low-frequency noise in [-1, 1] on ``shape`` (cubic zoom of a coarse random grid)."""
    base = rng.uniform(-1, 1, size=(coarse, coarse, coarse))
    zoom = [s / coarse for s in shape]
    field = ndimage.zoom(base, zoom, order=3, mode="nearest")[: shape[0], : shape[1], : shape[2]]
    out: NDArray[np.float32] = np.clip(field, -1, 1).astype(np.float32)
    return out


def _tissues(params: PhantomParams, grid: Grid, rng: np.random.Generator) -> NDArray[np.uint8]:
    x, y, z = grid.points()
    theta = np.deg2rad(params.rotation_deg)
    xr = np.cos(theta) * x - np.sin(theta) * y
    yr = np.sin(theta) * x + np.cos(theta) * y
    ax, ay, az = params.head_axes
    # Normalised ellipsoidal radius of the head; shells are offsets in mm along it.
    rho = np.sqrt((xr / ax) ** 2 + (yr / ay) ** 2 + (z / az) ** 2)
    depth = (1.0 - rho) * min(ax, ay, az)  # approx. mm inside the outer surface
    t = np.full(grid.shape, _BG, dtype=np.uint8)
    t[depth >= 0] = _SCALP
    t[depth >= 4] = _SKULL
    t[depth >= 10] = _CSF
    wobble = 1.5 * _smooth_noise(rng, grid.shape, 8)
    t[depth >= 13 + wobble] = _GM
    t[depth >= 18 + wobble] = _WM
    # Lateral ventricles: two small ellipsoids beside the midline.
    for side in (-1.0, 1.0):
        v = ((xr - side * 9) / 6) ** 2 + ((yr - 2) / 24) ** 2 + ((z - 10) / 12) ** 2
        t[v <= 1.0] = _CSF
    brain = (t == _GM) | (t == _WM) | ((t == _CSF) & (depth >= 13))
    cx, cy, cz = params.tumour_centre
    tx, ty, tz = params.tumour_axes
    r = np.sqrt(((x - cx) / tx) ** 2 + ((y - cy) / ty) ** 2 + ((z - cz) / tz) ** 2)
    r = r * (1.0 + 0.18 * _smooth_noise(rng, grid.shape, 6))  # irregular outline
    mean_axis = (tx + ty + tz) / 3
    oedema_r = 1.0 + params.oedema_margin / mean_axis
    t[brain & (r < oedema_r)] = _ED
    t[r < 1.0] = _ET
    t[r < params.core_fraction] = _NCR
    return t


def labels_from_tissues(tissues: NDArray[np.uint8]) -> NDArray[np.uint8]:
    lab = np.zeros(tissues.shape, dtype=np.uint8)
    lab[tissues == _NCR] = 1
    lab[tissues == _ED] = 2
    lab[tissues == _ET] = 3
    return lab


@dataclass(frozen=True)
class Phantom:
    params: PhantomParams
    grid: Grid
    images: dict[str, NDArray[np.float32]]  # sequence name -> volume (k, r, c)
    labels: NDArray[np.uint8]


def render(seed: int, grid: Grid) -> Phantom:
    """Render the phantom of ``seed`` on ``grid``: four MR contrasts with blur, bias and noise."""
    params = draw_params(seed)
    rng = np.random.default_rng(seed + 1_000_003)
    tissues = _tissues(params, grid, rng)
    spacing = np.linalg.norm(grid.affine[:3, :3], axis=0)
    sigma = 0.6 / spacing * spacing.min()  # partial volume, about 0.6 voxel
    images: dict[str, NDArray[np.float32]] = {}
    for i, name in enumerate(SEQUENCES):
        clean = _SIGNAL[tissues, i]
        # Mild texture inside tissues so intensity alone is not a lookup table.
        clean = clean * (1.0 + 0.05 * _smooth_noise(rng, grid.shape, 12))
        clean = ndimage.gaussian_filter(clean, sigma=sigma)
        bias = 1.0 + 0.15 * _smooth_noise(rng, grid.shape, 4)
        noisy = clean * bias * params.gains[i]
        sd = 18.0 * params.gains[i]
        # Rician noise, as magnitude images have.
        re = noisy + rng.normal(0, sd, grid.shape)
        im = rng.normal(0, sd, grid.shape)
        images[name] = np.sqrt(re**2 + im**2).astype(np.float32)
    return Phantom(params=params, grid=grid, images=images, labels=labels_from_tissues(tissues))
