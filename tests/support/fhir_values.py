"""Test helper: a small study with one AI result, as the plain values FHIR sync maps from."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from fhir_sync.values import (
    AiResult,
    LabelVolume,
    PatientInfo,
    ReportStatus,
    ReviewInfo,
    SeriesInfo,
    StudyInfo,
    StudySnapshot,
)

STUDY_UID = "1.2.826.0.1.3680043.8.498.1"
SEG_UID = "1.2.826.0.1.3680043.8.498.9"


def snapshot(
    *,
    job_id: str = "job-1",
    volumes: tuple[float, float] = (12.5, 30.25),
    status: ReportStatus = "final",
) -> StudySnapshot:
    """A result a radiologist signed (``status`` "final"; "preliminary": unsigned)."""
    review = (
        ReviewInfo()
        if status == "preliminary"
        else ReviewInfo(
            status=status,
            state="accepted",
            reviewer="radiologist",
            reviewed_at=datetime(2026, 11, 26, 10, 0, tzinfo=UTC),
            impression="Seen.",
        )
    )
    return StudySnapshot(
        patient=PatientInfo("MRN-0001", "Doe^Jane", date(1970, 1, 2), "F"),
        study=StudyInfo(
            study_uid=STUDY_UID,
            series=(
                SeriesInfo("1.2.826.0.1.3680043.8.498.2", "MR", 20, number=1, description="T1"),
                SeriesInfo("1.2.826.0.1.3680043.8.498.3", "MR", 20, number=2, description="FLAIR"),
                SeriesInfo(SEG_UID, "SEG", 1, number=99, description="AI segmentation"),
            ),
            started=datetime(2026, 11, 26, 9, 0, tzinfo=UTC),
            description="MR brain",
            accession_number="ACC-1",
        ),
        results=(
            AiResult(
                job_id=job_id,
                model_id="brain-tumour",
                model_version="1.0.0",
                seg_series_uid=SEG_UID,
                issued=datetime(2026, 11, 26, 9, 30, tzinfo=UTC),
                labels=(
                    LabelVolume("enhancing tumour", volumes[0], "416940007"),
                    LabelVolume("oedema", volumes[1]),
                ),
                review=review,
            ),
        ),
    )


def reanalysed(
    original: StudySnapshot, *, job_id: str, volumes: tuple[float, float]
) -> StudySnapshot:
    """A re-analysis of ``original``, signed again: an amendment."""
    newer = snapshot(job_id=job_id, volumes=volumes, status="amended").results[0]
    return replace(
        original, results=(replace(newer, issued=datetime(2026, 11, 26, 11, 0, tzinfo=UTC)),)
    )
