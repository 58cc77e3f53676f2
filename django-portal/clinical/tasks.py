"""Wiring: the portal's Celery tasks (queue ``portal``); both idempotent, acks_late.

Names and kwargs are the contract in docs/ARCHITECTURE.md.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from pacs.orthanc import OrthancClient, OrthancError, OrthancNotFound

from clinical import services


def _orthanc() -> OrthancClient:
    config = settings.CONFIG
    return OrthancClient(config.orthanc_url, config.orthanc_username, config.orthanc_password)


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
