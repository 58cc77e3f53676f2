"""pure: a synthetic brain MR study: anatomy -> four sequences -> scanner acquisitions with noise.

The head is rendered once on a 1 mm object grid (tissue classes, per-sequence contrast, texture,
bias field); each series then "acquires" it on its own grid: blurred by its slice thickness and
pixel size, sampled at its voxel centres, given Rician noise and stored as 12-bit integers.
Everything is deterministic from the seed and the randomisation ranges (ranges.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage  # type: ignore[import-untyped]

from neuronova_lab.synthetic import acquisition
from neuronova_lab.synthetic.acquisition import SeriesSpec
from neuronova_lab.synthetic.anatomy import (
    OBJECT_SPACING_MM,
    WM,
    Anatomy,
    draw_anatomy,
    labels_from_tissues,
    object_grid,
    smooth_noise,
    tissue_map,
)
from neuronova_lab.synthetic.geometry import Grid, axial_grid
from neuronova_lab.synthetic.ranges import DEMO, Ranges

__all__ = ["SEQUENCES", "Grid", "Phantom", "axial_grid", "draw_study", "render", "render_study"]

SEQUENCES: tuple[str, ...] = ("T1", "T1c", "T2", "FLAIR")

# Relative signal per tissue (rows, anatomy.py's classes) and sequence (T1, T1c, T2, FLAIR).
SIGNAL = np.array(
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
        [420, 430, 1350, 1050],  # non-enhancing tumour
        [700, 705, 1100, 1150],  # small white-matter hyperintensity (not tumour)
    ],
    dtype=np.float32,
)


@dataclass(frozen=True)
class StudySpec:
    seed: int
    profile: str
    anatomy: Anatomy
    contrast: tuple[tuple[float, ...], ...]  # per sequence (SEQUENCES order): signal per tissue
    series: tuple[SeriesSpec, ...]  # in series-number order


def _contrast(rng: np.random.Generator, ranges: Ranges) -> tuple[tuple[float, ...], ...]:
    """Per-sequence contrast curve: tissue signals jittered, a gamma curve, a gain."""
    out = []
    for i in range(len(SEQUENCES)):
        s = SIGNAL[:, i].astype(np.float64) * np.exp(
            rng.normal(0, ranges.contrast_jitter, len(SIGNAL))
        )
        peak = float(s.max())
        s = peak * (s / peak) ** ranges.gamma.draw(rng)
        s *= rng.uniform(0.7, 1.4)
        s[0] = 0.0
        out.append(tuple(float(v) for v in s))
    return tuple(out)


def draw_study(
    seed: int, ranges: Ranges, grids: Grid | Mapping[str, Grid] | None = None
) -> StudySpec:
    """Everything random about a study; ``grids`` imposes one grid, or one per sequence."""
    rng = np.random.default_rng(seed)
    anatomy = draw_anatomy(rng, ranges)
    contrast = _contrast(rng, ranges)
    if isinstance(grids, Grid):
        grids = dict.fromkeys(SEQUENCES, grids)
    series = acquisition.draw_series(rng, ranges, anatomy, grids)
    return StudySpec(seed, ranges.name, anatomy, contrast, series)


@dataclass(frozen=True)
class RenderedSeries:
    spec: SeriesSpec
    pixels: NDArray[np.uint16]  # (k, r, c) as stored

    @property
    def grid(self) -> Grid:
        return self.spec.grid


@dataclass(frozen=True)
class Phantom:
    spec: StudySpec
    object_grid: Grid
    object_labels: NDArray[np.uint8]  # labels on the 1 mm object grid
    object_tissues: NDArray[np.uint8]  # tissue classes (anatomy.py) on the object grid
    series: tuple[RenderedSeries, ...]
    labels: NDArray[np.uint8]  # ground truth on the T1 series' grid (the default SEG reference)

    @property
    def seed(self) -> int:
        return self.spec.seed

    def by_sequence(self, name: str) -> RenderedSeries:
        return next(s for s in self.series if s.spec.sequence == name)

    @property
    def grid(self) -> Grid:
        return self.by_sequence("T1").grid

    @property
    def images(self) -> dict[str, NDArray[np.float32]]:
        return {s.spec.sequence: s.pixels.astype(np.float32) for s in self.series}

    def truth(self, grid: Grid) -> NDArray[np.uint8]:
        """Ground-truth labels at the voxel centres of any grid."""
        return sample(self.object_labels, self.object_grid, grid, order=0).astype(np.uint8)

    def tissues(self, grid: Grid) -> NDArray[np.uint8]:
        """Tissue classes at the voxel centres of any grid."""
        return sample(self.object_tissues, self.object_grid, grid, order=0).astype(np.uint8)


def sample(
    source: NDArray[np.generic], source_grid: Grid, grid: Grid, order: int
) -> NDArray[np.float32]:
    to_source = np.linalg.inv(source_grid.affine) @ grid.affine
    out: NDArray[np.float32] = ndimage.affine_transform(
        source.astype(np.float32, copy=False),
        to_source[:3, :3],
        offset=to_source[:3, 3],
        output_shape=grid.shape,
        order=order,
        mode="constant",
        cval=0.0,
        output=np.float32,
    )
    return out


def _acquire(signal: NDArray[np.float32], obj: Grid, spec: SeriesSpec) -> NDArray[np.float32]:
    """Blur the object by the acquisition voxel (slice profile, pixel), sample the grid."""
    steps = spec.grid.affine[:3, :3] / spec.grid.spacing  # unit axes: normal, column, row
    sizes = np.array([spec.thickness_mm, spec.grid.spacing[1], spec.grid.spacing[2]])
    sigma = []
    for axis in (np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.0])):
        width = float(np.abs(axis @ steps) @ sizes)  # extent of the voxel along this object axis
        sigma.append(0.4 * np.sqrt(max(0.0, width**2 - 1.0)))
    blurred = ndimage.gaussian_filter(signal, sigma, mode="constant", truncate=3.0)
    return sample(blurred, obj, spec.grid, order=1)


def _store(image: NDArray[np.float32], rng: np.random.Generator) -> NDArray[np.uint16]:
    """12-bit storage with a random scanner scale (what normalisation has to undo)."""
    peak = float(np.percentile(image[::2, ::2, ::2], 99.9)) or 1.0
    scale = rng.uniform(1200.0, 3800.0) / peak
    out: NDArray[np.uint16] = np.clip(np.rint(image * scale), 0, 4095).astype(np.uint16)
    return out


def render_study(spec: StudySpec, noise_seed: int | None = None) -> Phantom:
    """``noise_seed`` (default: from the study's seed) draws texture, outlines and noise; a
    follow-up visit of the same head takes its own, as a new acquisition would."""
    rng = np.random.default_rng(spec.seed + 1_000_003 if noise_seed is None else noise_seed)
    # 1 mm, or coarser (up to 2.5 mm) when every series is at least twice as coarse: the
    # acquisition blur hides the difference and small test studies render in a fraction.
    finest = min(float(s.grid.spacing.min()) for s in spec.series)
    obj = object_grid(spec.anatomy, float(np.clip(finest / 2, OBJECT_SPACING_MM, 2.5)))
    tissues = tissue_map(spec.anatomy, obj, rng)
    texture = 1.0 + 0.05 * smooth_noise(rng, obj.shape, 24)
    rendered = []
    for series in spec.series:
        table = np.array(spec.contrast[SEQUENCES.index(series.sequence)], dtype=np.float32)
        bias = 1.0 + series.bias * smooth_noise(rng, obj.shape, 4)
        image = _acquire(table[tissues] * texture * bias, obj, series)
        sd = float(table[WM]) / series.snr
        real = image + sd * rng.standard_normal(image.shape, dtype=np.float32)
        imaginary = sd * rng.standard_normal(image.shape, dtype=np.float32)
        rician = np.sqrt(real**2 + imaginary**2)  # magnitude images carry Rician noise
        rendered.append(RenderedSeries(series, _store(rician, rng)))
    object_labels = labels_from_tissues(tissues)
    t1_grid = next(s.grid for s in spec.series if s.sequence == "T1")
    labels = sample(object_labels, obj, t1_grid, order=0).astype(np.uint8)
    return Phantom(spec, obj, object_labels, tissues, tuple(rendered), labels)


def render(seed: int, grid: Grid | Mapping[str, Grid], ranges: Ranges = DEMO) -> Phantom:
    """The phantom of ``seed`` with all four series on ``grid`` (demo and test studies), or
    each sequence on its own grid."""
    return render_study(draw_study(seed, ranges, grid))
