"""Test helper: a study with AI jobs in the portal's `clinical` tables, as the portal stores it."""

from __future__ import annotations

from datetime import datetime

from authz.identity import orthanc_id
from clinical.models import AIJob, JobState, Patient, Series, Study


def add_study(*, study_uid: str, patient_id: str = "MRN-0001") -> Study:
    patient, _ = Patient.objects.get_or_create(
        patient_id=patient_id,
        defaults={"patient_name": "Doe^Jane", "birth_date": "19700102", "sex": "F"},
    )
    study = Study.objects.create(
        study_uid=study_uid,
        claimed_uid=study_uid,
        orthanc_study_id=orthanc_id(patient_id, study_uid),
        patient=patient,
        study_date="20261126",
        study_description="MR brain",
        accession_number="ACC-1",
        modalities="MR\\SEG",
        series_count=2,
    )
    Series.objects.create(
        study=study,
        series_uid=f"{study_uid}.1",
        orthanc_series_id=orthanc_id(patient_id, study_uid, f"{study_uid}.1"),
        modality="MR",
        series_number="1",
        instance_count=20,
    )
    Series.objects.create(
        study=study,
        series_uid=f"{study_uid}.99",
        orthanc_series_id=orthanc_id(patient_id, study_uid, f"{study_uid}.99"),
        modality="SEG",
        series_number="99",
        instance_count=1,
    )
    return study


def add_done_job(study: Study, *, job_id: str, volumes_ml: dict[str, float], at: datetime) -> AIJob:
    return AIJob.objects.create(
        job_id=job_id,
        study=study,
        state=JobState.DONE,
        model_id="brain-tumour",
        model_version="1.0.0",
        seg_series_uid=f"{study.study_uid}.99",
        volumes_ml=volumes_ml,
        event_at=at,
    )
