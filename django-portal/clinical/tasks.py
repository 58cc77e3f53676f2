"""Wiring: the portal's Celery tasks (queue ``portal``); all idempotent, acks_late.

Names and kwargs are the contract in docs/ARCHITECTURE.md.
"""

from __future__ import annotations

from archive.client import new_client as _orthanc
from archive.orthanc import OrthancError, OrthancNotFound
from celery import shared_task

from clinical import services


@shared_task(
    name="neuronova.portal.study_stable",
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
    name="neuronova.portal.study_arrived",
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
    name="neuronova.portal.job_event",
    acks_late=True,
    autoretry_for=(OrthancError,),
    dont_autoretry_for=(OrthancNotFound,),  # a study deleted from Orthanc stays deleted
    retry_backoff=True,
    max_retries=8,
)
def job_event(**kwargs: object) -> str:
    orthanc = _orthanc()
    try:
        job = services.record_job_event(
            orthanc=orthanc, event=services.JobEvent.from_kwargs(dict(kwargs))
        )
    finally:
        orthanc.close()
    return job.state if job is not None else "ignored"
