"""pure: the generator's randomisation ranges: what training sees, and a shifted set outside it.

Every scalar setting is a Band (a union of intervals, drawn uniformly over their total length).
SHIFTED draws each acquisition and appearance setting from bands that lie outside TRAINING's
(thicker slices, coarser and finer matrices, smaller and larger fields of view, more tilt, lower
SNR, stronger bias, other contrast curves, smaller and larger heads, more irregular tumours);
orientation, coverage and the tumour's other properties stay in the training ranges. The bands
were fixed before any shifted figure was measured; do not move them to make a model pass.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Band:
    intervals: tuple[tuple[float, float], ...]

    @classmethod
    def of(cls, *intervals: tuple[float, float]) -> Band:
        return cls(tuple(intervals))

    def draw(self, rng: np.random.Generator) -> float:
        lengths = np.array([hi - lo for lo, hi in self.intervals], dtype=np.float64)
        if not lengths.sum():
            return float(self.intervals[int(rng.integers(len(self.intervals)))][0])
        u = rng.uniform(0, lengths.sum())
        for (lo, _), length in zip(self.intervals, lengths, strict=True):
            if u <= length:
                return float(lo + u)
            u -= length
        return float(self.intervals[-1][1])

    def contains(self, value: float) -> bool:
        return any(lo <= value <= hi for lo, hi in self.intervals)


def fixed(value: float) -> Band:
    return Band.of((value, value))


@dataclass(frozen=True)
class Ranges:
    name: str
    # acquisition
    thickness_mm: Band
    gap_fraction: Band  # spacing between slices = thickness * (1 + gap)
    matrix: Band  # in-plane matrix along the frequency direction
    fov_mm: Band
    phase_fov: Band  # fraction of the matrix along the phase direction
    tilt_deg: Band
    coverage: Band  # slab length / head extent along the slice normal
    orientations: tuple[str, ...]
    p_own_grids: float  # chance that each series has its own acquisition (else one shared grid)
    # appearance
    snr: Band  # white matter signal / noise sd
    bias: Band  # amplitude of the multiplicative bias field
    gamma: Band  # contrast curve exponent, per sequence
    contrast_jitter: float  # log-normal sd of each tissue's signal, per sequence
    # anatomy and tumour
    head_scale: Band
    p_no_tumour: float
    p_multifocal: float
    p_non_enhancing: float
    tumour_radius_mm: Band
    irregularity: Band
    core_fraction: Band
    oedema_margin_mm: Band
    wm_lesions: Band  # small non-tumour FLAIR hyperintensities (count)


TRAINING = Ranges(
    name="training",
    thickness_mm=Band.of((1.0, 5.0)),
    gap_fraction=Band.of((0.0, 0.2)),
    matrix=Band.of((128, 512)),
    fov_mm=Band.of((200, 260)),
    phase_fov=Band.of((0.75, 1.0)),
    tilt_deg=Band.of((0.0, 10.0)),
    coverage=Band.of((0.6, 1.1)),
    orientations=("axial", "axial", "sagittal", "coronal"),
    p_own_grids=0.5,
    snr=Band.of((10.0, 60.0)),
    bias=Band.of((0.0, 0.3)),
    gamma=Band.of((0.75, 1.35)),
    contrast_jitter=0.10,
    head_scale=Band.of((0.92, 1.08)),
    p_no_tumour=0.1,
    p_multifocal=0.25,
    p_non_enhancing=0.15,
    tumour_radius_mm=Band.of((8.0, 25.0)),
    irregularity=Band.of((0.1, 0.35)),
    core_fraction=Band.of((0.0, 0.65)),
    oedema_margin_mm=Band.of((3.0, 20.0)),
    wm_lesions=Band.of((0, 6)),
)

SHIFTED = replace(
    TRAINING,
    name="shifted",
    thickness_mm=Band.of((5.5, 7.0)),
    matrix=Band.of((96, 120), (528, 576)),
    fov_mm=Band.of((176, 196), (264, 290)),
    tilt_deg=Band.of((12.0, 20.0)),
    snr=Band.of((6.0, 9.5)),
    bias=Band.of((0.32, 0.45)),
    gamma=Band.of((0.6, 0.72), (1.4, 1.6)),
    contrast_jitter=0.18,
    head_scale=Band.of((0.85, 0.9), (1.1, 1.15)),
    p_no_tumour=0.0,
    irregularity=Band.of((0.36, 0.45)),
)

# The in-distribution and no-tumour evaluation sets: training ranges, tumour always / never.
IN_DISTRIBUTION = replace(TRAINING, name="in-distribution", p_no_tumour=0.0)
NO_TUMOUR = replace(TRAINING, name="no-tumour", p_no_tumour=1.0)

# `make demo` and the tests' small studies: one enhancing tumour with a necrotic core, a clean
# axial protocol, mild bias and noise (what the first shipped generator produced).
DEMO = replace(
    TRAINING,
    name="demo",
    gap_fraction=fixed(0.0),
    tilt_deg=fixed(0.0),
    coverage=fixed(1.0),
    orientations=("axial",),
    p_own_grids=0.0,
    snr=fixed(44.0),
    bias=fixed(0.15),
    gamma=fixed(1.0),
    contrast_jitter=0.0,
    p_no_tumour=0.0,
    p_multifocal=0.0,
    p_non_enhancing=0.0,
    tumour_radius_mm=Band.of((14.0, 23.0)),
    irregularity=fixed(0.18),
    core_fraction=Band.of((0.45, 0.65)),
    oedema_margin_mm=Band.of((8.0, 18.0)),
    wm_lesions=fixed(0),
)

PROFILES = {r.name: r for r in (TRAINING, SHIFTED, IN_DISTRIBUTION, NO_TUMOUR, DEMO)}
