"""Pure: the plain typed values FHIR sync maps from (filled by the portal adapter or by tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

# The DiagnosticReport's (and its Observations') status: "preliminary" until a radiologist signs
# the result, "final" at the study's first signature for that model, "amended" after any later
# one (a changed verdict, a later edit, a re-analysis signed again).
ReportStatus = Literal["preliminary", "final", "amended"]


@dataclass(frozen=True, slots=True)
class PatientInfo:
    patient_id: str  # DICOM PatientID (0010,0020)
    name: str = ""  # DICOM PN, "Family^Given^Middle^Prefix^Suffix"
    birth_date: date | None = None
    sex: str = ""  # DICOM PatientSex: M, F, O or empty


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    series_uid: str
    modality: str
    instance_count: int
    number: int | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class StudyInfo:
    study_uid: str
    series: tuple[SeriesInfo, ...]
    started: datetime | date | None = None  # a datetime must be timezone-aware
    description: str = ""
    accession_number: str = ""


@dataclass(frozen=True, slots=True)
class LabelVolume:
    label: str
    volume_ml: float
    snomed_code: str = ""  # SNOMED CT code of the segmented structure, when the model names one


@dataclass(frozen=True, slots=True)
class ReviewInfo:
    """A radiologist's review of the result; the default is an unsigned (pending) result."""

    status: ReportStatus = "preliminary"
    state: str = "pending_review"  # accepted, rejected, edited once signed
    reviewer: str = ""
    reviewed_at: datetime | None = None  # timezone-aware
    impression: str = ""
    reason: str = ""  # why it was rejected
    edited_seg_series_uid: str = ""  # the edited SEG whose volumes the labels carry

    @property
    def signed(self) -> bool:
        return self.status != "preliminary"


@dataclass(frozen=True, slots=True)
class AiResult:
    """One finished AI analysis of a study (a `done` job event with its volumes)."""

    job_id: str
    model_id: str
    model_version: str
    seg_series_uid: str
    issued: datetime  # timezone-aware: when the result was produced
    labels: tuple[LabelVolume, ...] = field(default_factory=tuple)  # the reviewed volumes
    review: ReviewInfo = field(default_factory=ReviewInfo)


@dataclass(frozen=True, slots=True)
class StudySnapshot:
    """Everything the EMR should know about one study; `results` holds the latest per model."""

    patient: PatientInfo
    study: StudyInfo
    results: tuple[AiResult, ...] = ()
