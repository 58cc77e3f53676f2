"""Adapter (ORM): write the clinical mirror — studies from Orthanc, AI job events from the queue.

Both writers are idempotent: replaying a study sync or a job event leaves the same rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive, make_aware, now
from pacs.orthanc import Orthanc

from clinical import dicom_tags
from clinical.models import AIJob, JobState, Patient, Series, Study

log = logging.getLogger(__name__)


@transaction.atomic
def sync_study(*, orthanc: Orthanc, orthanc_study_id: str) -> Study:
    """Create or update the mirror of one Orthanc study (patient, study, series)."""
    study_json = orthanc.study(orthanc_study_id)
    series_json = orthanc.study_series(orthanc_study_id)
    patient_values = dicom_tags.patient_fields(study_json)
    patient, _ = Patient.objects.update_or_create(
        patient_id=patient_values.pop("patient_id"), defaults=patient_values
    )
    values = dicom_tags.study_fields(study_json, series_json)
    study, _ = Study.objects.update_or_create(
        study_uid=values.pop("study_uid"), defaults={**values, "patient": patient}
    )
    for one in series_json:
        series_values = dicom_tags.series_fields(one)
        Series.objects.update_or_create(
            series_uid=series_values.pop("series_uid"), defaults={**series_values, "study": study}
        )
    study_uid = study.study_uid
    transaction.on_commit(lambda: _notify_fhir(study_uid))
    return study


@dataclass(frozen=True, slots=True)
class JobEvent:
    job_id: str
    study_uid: str
    orthanc_study_id: str
    state: str
    reason: str = ""
    model_id: str = ""
    model_version: str = ""
    seg_series_uid: str = ""
    volumes_ml: dict[str, float] | None = None
    at: str = ""

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, object]) -> JobEvent:
        known: dict[str, Any] = {
            name: kwargs[name] for name in cls.__dataclass_fields__ if name in kwargs
        }
        for name in ("reason", "model_id", "model_version", "seg_series_uid", "at"):
            known[name] = str(known.get(name) or "")
        return cls(**known)


def _event_time(text: str) -> datetime:
    parsed = parse_datetime(text) if text else None
    if parsed is None:
        return now()
    return make_aware(parsed) if is_naive(parsed) else parsed


@transaction.atomic
def record_job_event(*, orthanc: Orthanc, event: JobEvent) -> AIJob | None:
    """Apply one job state event; an event older than the job's last one is ignored."""
    if event.state not in JobState.values:
        log.warning("job %s: unknown state %r ignored", event.job_id, event.state)
        return None
    study = Study.objects.filter(study_uid=event.study_uid).first()
    if study is None:
        study = sync_study(orthanc=orthanc, orthanc_study_id=event.orthanc_study_id)
    at = _event_time(event.at)
    job = AIJob.objects.select_for_update().filter(job_id=event.job_id).first()
    if job is not None and job.event_at > at:
        return job  # a late, older event: the newer state stands
    values = {
        "study": study,
        "state": event.state,
        "reason": event.reason[:2000],
        "model_id": event.model_id[:100],
        "model_version": event.model_version[:50],
        "seg_series_uid": event.seg_series_uid[:64],
        "volumes_ml": {str(k): float(v) for k, v in (event.volumes_ml or {}).items()},
        "event_at": at,
    }
    job, _ = AIJob.objects.update_or_create(job_id=event.job_id, defaults=values)
    study_uid = study.study_uid
    transaction.on_commit(lambda: _notify_fhir(study_uid))
    return job


def _notify_fhir(study_uid: str) -> None:
    # Imported lazily: fhir_sync is another team's app and must not load with the portal's models.
    from fhir_sync import hooks  # noqa: PLC0415

    hooks.on_study_updated(study_uid=study_uid)


def request_reanalysis(*, orthanc: Orthanc, orthanc_id: str) -> dict[str, Any]:
    """Ask the plugin to queue a new job; it owns job ids and publishes the Celery task."""
    return orthanc.reanalyze(orthanc_id)


def record_requested_job(
    *, orthanc: Orthanc, study: Study, answer: dict[str, Any], requested_at: datetime
) -> AIJob | None:
    """Mirror the job the plugin just created (``{job_id, state[, reason]}``) at once.

    It is dated at the request, before the plugin made the job, so every event the plugin or the
    worker sends about it is newer and supersedes this row (and an event that already arrived is
    kept). None when the plugin's answer names no job.
    """
    job_id = str(answer.get("job_id") or "")
    if not job_id:
        return None
    event = JobEvent(
        job_id=job_id[:200],
        study_uid=study.study_uid,
        orthanc_study_id=study.orthanc_study_id or "",
        state=str(answer.get("state") or JobState.QUEUED),
        reason=str(answer.get("reason") or ""),
        at=requested_at.isoformat(),
    )
    return record_job_event(orthanc=orthanc, event=event)
