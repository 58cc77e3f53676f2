"""Wiring: the portal's Celery tasks (queue ``portal``); all idempotent, acks_late.

Names and kwargs are the contract in docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import logging

from archive.client import new_client as _orthanc
from archive.orthanc import OrthancError, OrthancNotFound
from celery import shared_task
from neuronova_contracts import tasks
from neuronova_contracts.jobs import InvalidJobEventError, JobEvent

from clinical import services

log = logging.getLogger(__name__)


@shared_task(
    name=tasks.STUDY_STABLE,
    acks_late=True,
    autoretry_for=(OrthancError,),
    dont_autoretry_for=(OrthancNotFound,),  # a study deleted from Orthanc stays deleted
    retry_backoff=True,
    max_retries=8,
)
def study_stable(*, orthanc_study_id: str, study_uid: str = "", **_extra: object) -> str:
    orthanc = _orthanc()
    try:
        return services.sync_study(orthanc=orthanc, orthanc_study_id=orthanc_study_id).study_uid
    finally:
        orthanc.close()


@shared_task(
    name=tasks.STUDY_ARRIVED,
    acks_late=True,
    autoretry_for=(OrthancError,),
    dont_autoretry_for=(OrthancNotFound,),
    retry_backoff=True,
    max_retries=8,
)
def study_arrived(*, orthanc_study_id: str, **_extra: object) -> str:
    """A study's first instance arrived: mirror it now, so the first study with a
    StudyInstanceUID claims it in arrival order (stability comes later, and in any order)."""
    orthanc = _orthanc()
    try:
        study = services.sync_study(
            orthanc=orthanc, orthanc_study_id=orthanc_study_id, notify=False
        )
    finally:
        orthanc.close()
    return study.study_uid


@shared_task(
    name=tasks.JOB_EVENT,
    acks_late=True,
    autoretry_for=(OrthancError,),
    dont_autoretry_for=(OrthancNotFound,),  # a study deleted from Orthanc stays deleted
    retry_backoff=True,
    max_retries=8,
)
def job_event(**kwargs: object) -> str:
    try:
        event = JobEvent.from_kwargs(kwargs)
    except InvalidJobEventError as exc:
        log.warning("job event ignored: %s", exc)
        return "ignored"
    orthanc = _orthanc()
    try:
        job = services.record_job_event(orthanc=orthanc, event=event)
    finally:
        orthanc.close()
    return job.state if job is not None else "ignored"
