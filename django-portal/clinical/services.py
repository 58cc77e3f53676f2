"""Adapter (ORM): write the clinical mirror — studies from Orthanc, AI job events from the queue.

Both writers are idempotent: replaying a study sync or a job event leaves the same rows. A study
is its Orthanc resource (PatientID + StudyInstanceUID); the first study mirrored with a UID
claims it, a later study of another patient with that UID is recorded as a conflict (audited,
counted, hidden from clinicians) and never replaces the owner.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from archive.orthanc import Orthanc
from audit import services as audit
from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive, make_aware, now
from neuronova_contracts.jobs import JobEvent, JobState

from clinical import dicom_tags, updates
from clinical.models import AIJob, Patient, Series, Study

log = logging.getLogger(__name__)


def sync_study(*, orthanc: Orthanc, orthanc_study_id: str, notify: bool = True) -> Study:
    """Create or update the mirror of one Orthanc study (patient, study, series).

    ``notify`` False: the study has only begun to arrive; the EMR hears of it once it is stable.
    """
    study_json = orthanc.study(orthanc_study_id)
    series_json = orthanc.study_series(orthanc_study_id)
    try:
        return _sync(study_json, series_json, notify=notify)
    except IntegrityError:
        # Another process mirrored a study with this UID at the same moment and won the claim
        # (claimed_uid is unique): mirror again, now as what the database says this study is.
        return _sync(study_json, series_json, notify=notify)


@transaction.atomic
def _sync(study_json: dict[str, Any], series_json: list[dict[str, Any]], *, notify: bool) -> Study:
    patient_values = dicom_tags.patient_fields(study_json)
    patient, _ = Patient.objects.update_or_create(
        patient_id=patient_values.pop("patient_id"), defaults=patient_values
    )
    values = dicom_tags.study_fields(study_json, series_json)
    orthanc_study_id = values.pop("orthanc_study_id")
    study = Study.objects.select_for_update().filter(orthanc_study_id=orthanc_study_id).first()
    new_conflict = False
    if study is None:
        owner = Study.objects.filter(claimed_uid=values["study_uid"]).first()
        study = Study(orthanc_study_id=orthanc_study_id, patient=patient)
        if owner is None:
            study.claimed_uid = values["study_uid"]
        else:
            study.conflict_with, study.conflict_since, new_conflict = owner, now(), True
    for name, value in {**values, "patient": patient}.items():
        setattr(study, name, value)
    study.save()
    for one in series_json:
        series_values = dicom_tags.series_fields(one)
        Series.objects.update_or_create(
            orthanc_series_id=series_values.pop("orthanc_series_id"),
            defaults={**series_values, "study": study},
        )
    if new_conflict:
        _record_conflict(study)
    if notify and not study.is_conflict:
        study_uid = study.study_uid
        transaction.on_commit(lambda: updates.study_updated(study_uid))
    return study


def _record_conflict(study: Study) -> None:
    owner = study.conflict_with
    detail = (
        f"patient {study.patient.patient_id} (Orthanc study {study.orthanc_study_id}) reuses "
        f"the StudyInstanceUID of patient {owner.patient.patient_id if owner else '?'}'s study "
        f"{owner.orthanc_study_id if owner else '?'}: stored, hidden from clinicians"
    )
    log.warning("study UID conflict: %s %s", study.study_uid, detail)
    audit.record(
        action="study-conflict",
        allowed=False,
        target=f"orthanc study {study.orthanc_study_id}",
        study_uid=study.study_uid,
        detail=detail,
    )


@transaction.atomic
def review_conflict(*, study: Study, reviewer: str) -> None:
    """An admin has looked at this conflict: it stays hidden, it no longer alerts."""
    if study.is_conflict and study.conflict_reviewed_at is None:
        study.conflict_reviewed_at = now()
        study.save(update_fields=["conflict_reviewed_at", "updated_at"])
        audit.record(
            action="conflict-reviewed",
            allowed=True,
            username=reviewer,
            target=f"orthanc study {study.orthanc_study_id}",
            study_uid=study.study_uid,
        )


@transaction.atomic
def hand_uid_to(*, study: Study, reviewer: str) -> None:
    """Make this conflict the owner of its StudyInstanceUID; the former owner becomes a
    (reviewed) conflict. For an admin who found that the later arrival is the real study."""
    if not study.is_conflict:
        return
    owner = Study.objects.select_for_update().filter(claimed_uid=study.study_uid).first()
    at = now()
    if owner is not None:
        owner.claimed_uid, owner.conflict_with = None, study
        owner.conflict_since = owner.conflict_reviewed_at = at
        owner.save()
    study.claimed_uid, study.conflict_with = study.study_uid, None
    study.conflict_since = study.conflict_reviewed_at = None
    study.save()
    audit.record(
        action="conflict-uid-handed",
        allowed=True,
        username=reviewer,
        target=f"orthanc study {study.orthanc_study_id}",
        study_uid=study.study_uid,
        detail=f"former owner {owner.orthanc_study_id if owner else '-'}",
    )
    study_uid = study.study_uid
    transaction.on_commit(lambda: updates.study_updated(study_uid))


def _event_time(text: str) -> datetime:
    parsed = parse_datetime(text) if text else None
    if parsed is None:
        return now()
    return make_aware(parsed) if is_naive(parsed) else parsed


def record_job_event(*, orthanc: Orthanc, event: JobEvent) -> AIJob | None:
    """Apply one job state event to the job of that exact Orthanc study.

    An event older than the job's last one is ignored; an event that names a job of another
    study (its id is taken) is refused, so no job of one study ever updates another's report.
    """
    if not event.orthanc_study_id:
        log.warning("job %s: event without orthanc_study_id ignored", event.job_id)
        return None
    study = Study.objects.filter(orthanc_study_id=event.orthanc_study_id).first()
    if study is None:
        study = sync_study(orthanc=orthanc, orthanc_study_id=event.orthanc_study_id)
    return _apply_job_event(study, event)


@transaction.atomic
def _apply_job_event(study: Study, event: JobEvent) -> AIJob | None:
    """Apply the event under the study's row lock, then the job's: every event of a study's jobs,
    on any portal worker, waits for the one before it, so the age comparison sees the last one.

    The study's row exists (mirrored before this call), so it is the lock even for a job's first
    event, when no job row exists yet to lock: with only the job's row, the first two events of
    a job both found no row, both wrote, and the older one could land last. Locking the study
    first also keeps InnoDB from deadlocking two inserters of one job id (each holding a shared
    lock on the duplicate key and asking for an exclusive one). The insert itself is
    insert-if-absent (``ON CONFLICT DO NOTHING`` / ``INSERT IGNORE``): a job id that another
    study's event inserted meanwhile is found and refused below, never overwritten.
    """
    at = _event_time(event.at)
    locked = Study.objects.select_for_update().filter(pk=study.pk).values_list("pk", flat=True)
    if not list(locked):
        return None  # the study was deleted meanwhile
    values = {
        "study": study,
        "state": str(event.state),
        "reason": event.reason[:2000],
        "model_id": event.model_id[:100],
        "model_version": event.model_version[:50],
        "seg_series_uid": event.seg_series_uid[:64],
        "volumes_ml": {str(k): float(v) for k, v in (event.volumes_ml or {}).items()},
        "qc_score": event.qc_score,
        "needs_review": event.needs_review,
        "qc": dict(event.qc or {}),
        "event_at": at,
    }
    jobs = AIJob.objects.select_for_update().select_related("study").filter(job_id=event.job_id)
    job = jobs.first()
    if job is None:
        AIJob.objects.bulk_create([AIJob(job_id=event.job_id, **values)], ignore_conflicts=True)
        job = jobs.get()
    if job.study.pk != study.pk:
        log.warning(
            "job %s belongs to study %s; event for %s refused",
            event.job_id,
            job.study.orthanc_study_id,
            event.orthanc_study_id,
        )
        return None
    if job.event_at > at:
        return job  # a late, older event: the newer state stands
    for name, value in values.items():
        setattr(job, name, value)
    job.save()
    if not study.is_conflict:
        study_uid = study.study_uid
        transaction.on_commit(lambda: updates.study_updated(study_uid))
    return job


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
        orthanc_study_id=study.orthanc_study_id,
        state=JobState(str(answer.get("state") or JobState.QUEUED)),
        reason=str(answer.get("reason") or ""),
        at=requested_at.isoformat(),
    )
    return record_job_event(orthanc=orthanc, event=event)
