"""pure: a generated study held in memory, usable wherever an Orthanc study source is expected."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset

from neuronova_lab.synthetic.dicom import series_datasets
from neuronova_lab.synthetic.phantom import Grid, Phantom, draw_study, render, render_study
from neuronova_lab.synthetic.ranges import Ranges

MATCH_KEYWORDS = (
    "Modality",
    "SeriesDescription",
    "ProtocolName",
    "SeriesNumber",
    "ScanningSequence",
    "SequenceVariant",
    "ContrastBolusAgent",
    "SeriesInstanceUID",
)


def tags_of(ds: Dataset) -> dict[str, str]:
    out = {}
    for kw in MATCH_KEYWORDS:
        value = ds.get(kw)
        if value is not None:
            multi = hasattr(value, "__iter__") and not isinstance(value, str)
            out[kw] = "\\".join(str(v) for v in value) if multi else str(value)
    return out


@dataclass(frozen=True)
class SyntheticStudy:
    """Series keyed by SeriesInstanceUID (standing in for Orthanc series ids) plus ground truth."""

    series: dict[str, list[Dataset]]
    labels: NDArray[np.uint8]  # on the T1 series' grid, (k, r, c) sorted along the slice normal
    phantom: Phantom | None = None

    @classmethod
    def from_phantom(cls, phantom: Phantom) -> SyntheticStudy:
        series: dict[str, list[Dataset]] = {}
        for ds in series_datasets(phantom):
            series.setdefault(str(ds.SeriesInstanceUID), []).append(ds)
        return cls(series=series, labels=phantom.labels, phantom=phantom)

    @classmethod
    def generate(cls, seed: int, grid: Grid | Mapping[str, Grid]) -> SyntheticStudy:
        """The demo-style study of ``seed`` with all four series on ``grid`` (or each sequence
        on its own)."""
        return cls.from_phantom(render(seed, grid))

    @classmethod
    def randomised(cls, seed: int, ranges: Ranges) -> SyntheticStudy:
        return cls.from_phantom(render_study(draw_study(seed, ranges)))

    @property
    def study_uid(self) -> str:
        return str(next(iter(self.series.values()))[0].StudyInstanceUID)

    def all_datasets(self) -> list[Dataset]:
        return [ds for datasets in self.series.values() for ds in datasets]

    # StudySource protocol ---------------------------------------------------------------
    def series_tags(self, orthanc_study_id: str) -> dict[str, dict[str, str]]:
        out = {}
        for key, datasets in self.series.items():
            tags = tags_of(datasets[0])
            tags["NumberOfInstances"] = str(len(datasets))
            out[key] = tags
        return out

    def instances(self, orthanc_series_id: str) -> list[Dataset]:
        return list(self.series[orthanc_series_id])
