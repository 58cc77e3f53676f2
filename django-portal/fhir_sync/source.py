"""Adapter (ORM, read-only): a study as the portal knows it, turned into FHIR sync values.

Reads the portal's `clinical` tables through its selectors: the study a StudyInstanceUID names
is the one that owns it (never another patient's study that reuses the UID, docs/portal.md);
the latest `done` job of each model is the result the EMR shows, with its review (status,
signer, impression) and the reviewed volumes.
Label codes come from the model manifest through `clinical.labels`, as in the portal's report.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from clinical import review as review_rules
from clinical.labels import labels_for
from clinical.models import AIJob, JobState
from clinical.reports import ReviewFacts, labelled_volumes, reviewed_volumes
from clinical.selectors import (
    jobs_of,
    review_facts,
    signature_count,
    study_by_uid,
    study_series,
)

from fhir_sync.values import (
    AiResult,
    LabelVolume,
    PatientInfo,
    ReviewInfo,
    SeriesInfo,
    StudyInfo,
    StudySnapshot,
)


def _dicom_date(value: str) -> date | None:
    try:
        return datetime.strptime(value.strip(), "%Y%m%d").replace(tzinfo=UTC).date()
    except ValueError:
        return None


def _series_number(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.lstrip("-").isdigit() else None


def _results(jobs: list[AIJob]) -> tuple[AiResult, ...]:
    latest: dict[str, AIJob] = {}
    for job in jobs:
        if job.state != JobState.DONE or not job.seg_series_uid:
            continue
        known = latest.get(job.model_id)
        if known is None or job.event_at > known.event_at:
            latest[job.model_id] = job
    return tuple(_result(job) for _, job in sorted(latest.items()))


def _result(job: AIJob) -> AiResult:
    facts = review_facts(job=job)
    return AiResult(
        job_id=job.job_id,
        model_id=job.model_id,
        model_version=job.model_version,
        seg_series_uid=job.seg_series_uid,
        issued=job.event_at,
        labels=_labels(job, facts),
        review=_review(job, facts),
    )


def _review(job: AIJob, facts: ReviewFacts) -> ReviewInfo:
    """The review as the EMR sees it; the status counts every signature given to this model's
    results of the study, so a signed re-analysis amends a report that was final."""
    if not facts.signed:
        return ReviewInfo()
    seg = facts.seg
    signatures = signature_count(study=job.study, model_id=job.model_id)
    return ReviewInfo(
        status=review_rules.fhir_status(state=facts.state, version=signatures),
        state=facts.state,
        reviewer=facts.reviewer or "",
        reviewed_at=facts.reviewed_at,
        impression=facts.impression,
        reason=facts.reason,
        edited_seg_series_uid=seg.series_uid if seg else "",
    )


def _labels(job: AIJob, facts: ReviewFacts) -> tuple[LabelVolume, ...]:
    """The reviewed volumes per label (the radiologist's edited SEG's, else the AI's, as in the
    portal's report), with the label's SNOMED CT code from the model manifest (same source and
    rule as the report) when that manifest's version is the job's."""
    known = labels_for(job.model_id, job.model_version)
    return tuple(
        LabelVolume(label, volume, snomed_code=(info.snomed_code if info else None) or "")
        for label, volume, info in labelled_volumes(reviewed_volumes(job, facts), known)
    )


def load_snapshot(*, study_uid: str) -> StudySnapshot | None:
    study = study_by_uid(study_uid=study_uid)
    if study is None:
        return None
    patient = study.patient
    series = tuple(
        SeriesInfo(
            series_uid=item.series_uid,
            modality=item.modality or "OT",
            instance_count=item.instance_count,
            number=_series_number(item.series_number),
            description=item.series_description,
        )
        for item in study_series(study=study)
    )
    return StudySnapshot(
        patient=PatientInfo(
            patient_id=patient.patient_id,
            name=patient.patient_name,
            birth_date=_dicom_date(patient.birth_date),
            sex=patient.sex,
        ),
        study=StudyInfo(
            study_uid=study.study_uid,
            series=series,
            started=_dicom_date(study.study_date),
            description=study.study_description,
            accession_number=study.accession_number,
        ),
        results=_results(list(jobs_of(study=study))),
    )
