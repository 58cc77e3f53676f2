"""pure: follow-up visits of one patient: the same head, its tumour grown, shrunk or unchanged.

Visit 0 is the demo study of the seed, unchanged (same UIDs, pixels and volumes). Each later visit
scales every tumour focus (its axes and oedema margin) by that visit's factor, so the tumour's
volume goes roughly with the cube of it, and is acquired again: a new study (own UIDs, frame of
reference, date ``interval_days`` later, own noise and outline texture) of the same PatientID.
What each visit really contains is measured on its own reference (T1) grid from the rendered
ground truth, the same grid the AI's SEG lies on, so tests compare the AI's volumes and changes
with these figures rather than with the nominal factors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
from pydicom.dataset import Dataset

from neuronova_lab.synthetic.anatomy import Anatomy, Focus
from neuronova_lab.synthetic.dicom import Visit, series_datasets
from neuronova_lab.synthetic.phantom import Grid, Phantom, draw_study, render_study
from neuronova_lab.synthetic.ranges import DEMO, Ranges

# Grows by half its volume, then shrinks below the baseline: the nadir moves, every change is
# far larger than the model's volume error on the demo grid.
DEFAULT_SCALES: tuple[float, ...] = (1.0, 1.15, 0.8)
BASELINE_DATE = date(2026, 1, 1)
LABEL_VALUES = (1, 2, 3)  # BraTS: necrotic/non-enhancing core, oedema, enhancing tumour


@dataclass(frozen=True)
class FollowUpVisit:
    visit: Visit
    scale: float
    phantom: Phantom

    @property
    def truth_ml(self) -> dict[int, float]:
        """Ground-truth volume (mL) of each label value on the reference grid."""
        counts = np.bincount(self.phantom.labels.ravel(), minlength=max(LABEL_VALUES) + 1)
        voxel_ml = self.phantom.grid.voxel_ml
        return {value: float(counts[value]) * voxel_ml for value in LABEL_VALUES}

    @property
    def total_ml(self) -> float:
        return sum(self.truth_ml.values())

    def datasets(self) -> list[Dataset]:
        return series_datasets(self.phantom, self.visit)


def scaled(anatomy: Anatomy, factor: float) -> Anatomy:
    """The same head with every tumour focus ``factor`` times its size (centres kept)."""
    foci = tuple(_scaled_focus(focus, factor) for focus in anatomy.foci)
    return replace(anatomy, foci=foci)


def _scaled_focus(focus: Focus, factor: float) -> Focus:
    axes = (focus.axes[0] * factor, focus.axes[1] * factor, focus.axes[2] * factor)
    return replace(focus, axes=axes, oedema_margin_mm=focus.oedema_margin_mm * factor)


def visit_date(number: int, interval_days: int) -> str:
    return (BASELINE_DATE + timedelta(days=number * interval_days)).strftime("%Y%m%d")


def follow_up(
    seed: int,
    grid: Grid | Mapping[str, Grid],
    scales: Sequence[float] = DEFAULT_SCALES,
    *,
    interval_days: int = 91,
    ranges: Ranges = DEMO,
) -> list[FollowUpVisit]:
    """One visit per scale factor, in date order; the first is the baseline's, 1.0 (the demo
    study keeps its UIDs, so it cannot change)."""
    if not scales or scales[0] != 1.0 or any(s <= 0 for s in scales):
        raise ValueError("scale factors are positive and the baseline's (the first) is 1.0")
    spec = draw_study(seed, ranges, grid)
    visits = []
    for number, factor in enumerate(scales):
        visit = Visit(number=number, study_date=visit_date(number, interval_days))
        visit_spec = replace(spec, anatomy=scaled(spec.anatomy, factor))
        # The baseline renders exactly as the plain demo study; later visits get their own noise.
        noise_seed = None if number == 0 else seed + 1_000_003 + 7919 * number
        phantom = render_study(visit_spec, noise_seed=noise_seed)
        visits.append(FollowUpVisit(visit=visit, scale=float(factor), phantom=phantom))
    return visits
