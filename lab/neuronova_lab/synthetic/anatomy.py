"""pure: a head (brain, ventricles, tumour foci, small lesions) as a tissue map in patient space.

The anatomy is drawn from a seed and the ranges, then evaluated on an axis-aligned 1 mm object grid
around the head; every acquisition of a study samples that one object, so all series of a study
show the same head and tumour whatever their orientation or spacing. Labels follow BraTS:
0 background, 1 necrotic or non-enhancing tumour core, 2 oedema, 3 enhancing tumour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage  # type: ignore[import-untyped]

from neuronova_lab.synthetic.geometry import Grid, axial_grid, rotation
from neuronova_lab.synthetic.ranges import Ranges

# Tissue classes, used only inside the generator.
BG, SCALP, SKULL, CSF, GM, WM, ED, ET, NCR, NET, WMH = range(11)
N_TISSUES = 11
OBJECT_SPACING_MM = 1.0


@dataclass(frozen=True)
class Focus:
    """One tumour focus, in head coordinates (mm from the head centre, before the head pose)."""

    centre: tuple[float, float, float]
    axes: tuple[float, float, float]
    rotation_deg: tuple[float, float, float]
    irregularity: float
    core_fraction: float  # necrotic (or non-enhancing) core radius / tumour radius
    enhancing: bool
    oedema_margin_mm: float


@dataclass(frozen=True)
class Anatomy:
    head_axes: tuple[float, float, float]
    head_centre: tuple[float, float, float]
    pose_deg: tuple[float, float, float]  # rotations about S (yaw), L (pitch), P (roll)
    shells_mm: tuple[float, float, float, float]  # scalp|skull, skull|CSF, CSF|GM, GM|WM depths
    ventricle_axes: tuple[float, float, float]
    foci: tuple[Focus, ...]
    lesions: tuple[tuple[float, float, float, float], ...]  # (x, y, z, radius) small WM spots

    def pose(self) -> NDArray[np.float64]:
        yaw, pitch, roll = self.pose_deg
        r: NDArray[np.float64] = (
            rotation(np.array([0.0, 0.0, 1.0]), yaw)
            @ rotation(np.array([1.0, 0.0, 0.0]), pitch)
            @ rotation(np.array([0.0, 1.0, 0.0]), roll)
        )
        return r

    def to_patient(self, local: NDArray[np.float64]) -> NDArray[np.float64]:
        out: NDArray[np.float64] = self.pose() @ local + np.array(self.head_centre)
        return out


def _focus(rng: np.random.Generator, ranges: Ranges, enhancing: bool, scale: float) -> Focus:
    radius = ranges.tumour_radius_mm.draw(rng) * scale
    side = float(rng.choice([-1.0, 1.0]))
    return Focus(
        centre=(side * rng.uniform(6, 28), rng.uniform(-35, 35), rng.uniform(-8, 22)),
        axes=tuple(float(radius * rng.uniform(0.8, 1.2)) for _ in range(3)),  # type: ignore[arg-type]
        rotation_deg=tuple(float(v) for v in rng.uniform(-90, 90, 3)),  # type: ignore[arg-type]
        irregularity=ranges.irregularity.draw(rng),
        core_fraction=ranges.core_fraction.draw(rng),
        enhancing=enhancing,
        oedema_margin_mm=ranges.oedema_margin_mm.draw(rng),
    )


def draw_anatomy(rng: np.random.Generator, ranges: Ranges) -> Anatomy:
    scale = ranges.head_scale.draw(rng)
    head = (
        70.0 * scale * rng.uniform(0.95, 1.05),
        88.0 * scale * rng.uniform(0.95, 1.05),
        66.0 * scale * rng.uniform(0.95, 1.05),
    )
    skull_out = rng.uniform(3.0, 5.0)
    shells = (
        skull_out,
        skull_out + rng.uniform(5.0, 7.5),
        skull_out + rng.uniform(8.0, 11.0),
        skull_out + rng.uniform(13.0, 16.0),
    )
    foci: list[Focus] = []
    if rng.random() >= ranges.p_no_tumour:
        enhancing = rng.random() >= ranges.p_non_enhancing
        count = int(rng.integers(2, 4)) if rng.random() < ranges.p_multifocal else 1
        foci = [_focus(rng, ranges, enhancing, 1.0 if i == 0 else 0.7) for i in range(count)]
    lesions = tuple(
        (
            float(rng.choice([-1.0, 1.0]) * rng.uniform(10, 35)),
            float(rng.uniform(-40, 40)),
            float(rng.uniform(0, 30)),
            float(rng.uniform(1.5, 4.0)),
        )
        for _ in range(round(ranges.wm_lesions.draw(rng)))
    )
    return Anatomy(
        head_axes=head,
        head_centre=tuple(float(v) for v in rng.uniform(-6, 6, 3)),  # type: ignore[arg-type]
        pose_deg=(float(rng.uniform(-8, 8)), float(rng.uniform(-8, 8)), float(rng.uniform(-4, 4))),
        shells_mm=shells,
        ventricle_axes=(rng.uniform(5, 8), rng.uniform(20, 26), rng.uniform(9, 13)),
        foci=tuple(foci),
        lesions=lesions,
    )


def object_grid(anatomy: Anatomy, spacing_mm: float = OBJECT_SPACING_MM) -> Grid:
    """The axis-aligned grid around the posed head ellipsoid (plus a 4 mm margin)."""
    extent = np.sqrt(((anatomy.pose() * np.array(anatomy.head_axes)) ** 2).sum(axis=1)) + 4.0
    nx, ny, nz = (int(np.ceil(2 * e / spacing_mm)) + 1 for e in extent)
    spacing = (spacing_mm,) * 3
    return axial_grid((nz, ny, nx), spacing, np.array(anatomy.head_centre))


def smooth_noise(
    rng: np.random.Generator, shape: tuple[int, ...], coarse: int
) -> NDArray[np.float32]:
    """Low-frequency noise in [-1, 1] on ``shape``: cubic to a quarter size, then linear."""
    base = rng.uniform(-1, 1, size=(coarse, coarse, coarse))
    mid_shape = [max(coarse, s // 4) for s in shape]
    mid = ndimage.zoom(base, [m / coarse for m in mid_shape], order=3, mode="nearest")
    field = ndimage.zoom(mid, [s / m for s, m in zip(shape, mid.shape, strict=True)], order=1)
    out = np.zeros(shape, dtype=np.float32)
    crop = tuple(slice(0, min(a, b)) for a, b in zip(shape, field.shape, strict=True))
    out[crop] = field[crop]
    clipped: NDArray[np.float32] = np.clip(out, -1, 1)
    return clipped


def _local(anatomy: Anatomy, grid: Grid) -> NDArray[np.float32]:
    pts = grid.points().reshape(3, -1) - np.array(anatomy.head_centre)[:, None]
    local: NDArray[np.float32] = (anatomy.pose().T @ pts).astype(np.float32)
    return local.reshape((3, *grid.shape))


def tissue_map(anatomy: Anatomy, grid: Grid, rng: np.random.Generator) -> NDArray[np.uint8]:
    """Tissue class of every voxel centre of ``grid`` (the object grid)."""
    x, y, z = _local(anatomy, grid)
    ax, ay, az = anatomy.head_axes
    rho = np.sqrt((x / ax) ** 2 + (y / ay) ** 2 + (z / az) ** 2)
    depth = (1.0 - rho) * min(ax, ay, az)  # approx. mm inside the outer surface
    s1, s2, s3, s4 = anatomy.shells_mm
    t = np.full(grid.shape, BG, dtype=np.uint8)
    t[depth >= 0] = SCALP
    t[depth >= s1] = SKULL
    t[depth >= s2] = CSF
    wobble = 1.5 * smooth_noise(rng, grid.shape, 10)
    t[depth >= s3 + wobble] = GM
    t[depth >= s4 + wobble] = WM
    vx, vy, vz = anatomy.ventricle_axes
    for side in (-1.0, 1.0):
        v = ((x - side * (vx + 3)) / vx) ** 2 + ((y - 2) / vy) ** 2 + ((z - 10) / vz) ** 2
        t[v <= 1.0] = CSF
    for lx, ly, lz, lr in anatomy.lesions:
        spot = (x - lx) ** 2 + (y - ly) ** 2 + (z - lz) ** 2 <= lr**2
        t[spot & (t == WM)] = WMH
    brain = (t == GM) | (t == WM) | (t == WMH)
    cores: list[tuple[NDArray[np.bool_], NDArray[np.bool_], bool]] = []
    oedema = np.zeros(grid.shape, dtype=bool)
    for focus in anatomy.foci:
        r = _focus_radius(focus, (x, y, z), rng, grid.shape)
        mean_axis = sum(focus.axes) / 3
        edge = 1.0 + 0.5 * focus.irregularity * smooth_noise(rng, grid.shape, 14)
        oedema |= brain & (r < edge * (1.0 + focus.oedema_margin_mm / mean_axis))
        cores.append((r < 1.0, r < focus.core_fraction, focus.enhancing))
    t[oedema] = ED
    for body, core, enhancing in cores:
        t[body] = ET if enhancing else NET
        t[core] = NCR if enhancing else NET
    return t


def _focus_radius(
    focus: Focus,
    xyz: tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]],
    rng: np.random.Generator,
    shape: tuple[int, int, int],
) -> NDArray[np.float32]:
    """Normalised ellipsoidal radius of a focus with an irregular outline (1.0 at the edge)."""
    yaw, pitch, roll = focus.rotation_deg
    r_mat = (
        rotation(np.array([0.0, 0.0, 1.0]), yaw)
        @ rotation(np.array([1.0, 0.0, 0.0]), pitch)
        @ rotation(np.array([0.0, 1.0, 0.0]), roll)
    ).T.astype(np.float32)
    x, y, z = xyz
    cx, cy, cz = focus.centre
    dx, dy, dz = x - cx, y - cy, z - cz
    u = r_mat[0, 0] * dx + r_mat[0, 1] * dy + r_mat[0, 2] * dz
    v = r_mat[1, 0] * dx + r_mat[1, 1] * dy + r_mat[1, 2] * dz
    w = r_mat[2, 0] * dx + r_mat[2, 1] * dy + r_mat[2, 2] * dz
    ta, tb, tc = focus.axes
    r = np.sqrt((u / ta) ** 2 + (v / tb) ** 2 + (w / tc) ** 2)
    out: NDArray[np.float32] = r * (1.0 + focus.irregularity * smooth_noise(rng, shape, 12))
    return out


def labels_from_tissues(tissues: NDArray[np.uint8]) -> NDArray[np.uint8]:
    lut = np.zeros(N_TISSUES, dtype=np.uint8)
    lut[[NCR, NET]] = 1
    lut[ED] = 2
    lut[ET] = 3
    out: NDArray[np.uint8] = lut[tissues]
    return out
