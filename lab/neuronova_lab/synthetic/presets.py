"""pure: named acquisition layouts for demo, test and benchmark studies (grids per sequence).

``demo`` and ``small`` are what `make demo` and the integration tests send; ``sagittal`` has
every series acquired sagittally; ``mixed`` gives the four series four different orientations,
spacings and fields of view (one frame of reference, no shared grid); ``clinical24`` is a
4 x 24-slice axial 2-D protocol at 256 x 256 (the latency target of the AI path); ``mr512`` is
a 3-D-like axial acquisition of 160 slices at 512 x 512 (0.47 mm pixels, 1 mm slices), the
realistic series size of the viewer benchmark (bench/viewer.py).
"""

from __future__ import annotations

import numpy as np

from neuronova_lab.synthetic.geometry import Grid, demo_grid, plane_grid

SEQUENCES = ("T1", "T1c", "T2", "FLAIR")


def _same(grid: Grid) -> dict[str, Grid]:
    return dict.fromkeys(SEQUENCES, grid)


def sagittal() -> dict[str, Grid]:
    return _same(
        plane_grid(
            "sagittal",
            rows=112,
            columns=128,
            slices=26,
            pixel_mm=1.9,
            slice_spacing_mm=5.5,
            centre=np.array([0.0, 4.0, 4.0]),
        )
    )


def mixed() -> dict[str, Grid]:
    return {
        "T1": plane_grid(
            "axial",
            rows=96,
            columns=96,
            slices=24,
            pixel_mm=2.4,
            slice_spacing_mm=6.0,
            centre=np.array([0.0, 0.0, 2.0]),
        ),
        "T1c": plane_grid(
            "axial",
            rows=160,
            columns=144,
            slices=44,
            pixel_mm=1.4,
            slice_spacing_mm=3.0,
            centre=np.array([3.0, -4.0, 6.0]),
        ),
        "T2": plane_grid(
            "coronal",
            rows=112,
            columns=112,
            slices=36,
            pixel_mm=2.0,
            slice_spacing_mm=5.0,
            centre=np.array([-2.0, 2.0, 0.0]),
        ),
        "FLAIR": plane_grid(
            "sagittal",
            rows=120,
            columns=128,
            slices=30,
            pixel_mm=1.8,
            slice_spacing_mm=4.6,
            centre=np.array([0.0, 5.0, 3.0]),
        ),
    }


def clinical24() -> dict[str, Grid]:
    return _same(
        plane_grid(
            "axial",
            rows=256,
            columns=256,
            slices=24,
            pixel_mm=0.9,
            slice_spacing_mm=6.0,
            centre=np.array([0.0, 0.0, 4.0]),
        )
    )


def mr512() -> dict[str, Grid]:
    return _same(
        plane_grid(
            "axial",
            rows=512,
            columns=512,
            slices=160,
            pixel_mm=0.47,
            slice_spacing_mm=1.0,
            centre=np.array([0.0, 0.0, 4.0]),
        )
    )


PRESETS = {
    "demo": lambda: _same(demo_grid()),
    "small": lambda: _same(demo_grid(small=True)),
    "sagittal": sagittal,
    "mixed": mixed,
    "clinical24": clinical24,
    "mr512": mr512,
}
