"""Wiring: the portal's Celery app; its worker consumes queue ``portal`` (job events, study mirror).

Start: ``celery -A neuronova_portal.celery:app worker -Q portal -n portal@%h`` with
PYTHONPATH=django-portal.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from celery import Celery, Task
from celery.signals import before_task_publish
from kombu import Queue
from neuronova_contracts import signing, tasks

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "neuronova_portal.settings")
log = logging.getLogger("neuronova.portal.tasks")
# The key that signs what this process sends and checks what its worker runs (docs/scaling.md).
TASK_KEY = os.environ.get(signing.KEY_ENV, "")


class SignedTask(signing.SignedCall, Task):  # type: ignore[type-arg]
    """Every portal task: a message without this deployment's signature never runs."""

    task_key = TASK_KEY

    def refused(self, reason: str, kwargs: Mapping[str, Any]) -> None:
        log.warning("task %s refused: %s (kwargs %s)", self.name, reason, sorted(kwargs))
        from audit import services as audit  # noqa: PLC0415 - Django is set up by now

        audit.record(
            action="task-refused",
            allowed=False,
            target=f"celery task {self.name}"[:300],
            study_uid=str(kwargs.get("study_uid", ""))[:64],
            detail=f"{reason}; job {kwargs.get('job_id', '-')}"[:300],
            required=False,
        )


app = Celery("neuronova_portal", task_cls=SignedTask)
before_task_publish.connect(signing.publish_hook(TASK_KEY), weak=False)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_default_queue=tasks.PORTAL_QUEUE,
    task_queues=(Queue(tasks.PORTAL_QUEUE),),
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
)
# Periodic work runs from the one portal worker's embedded beat (`worker -B`, stack/render.py and
# docker-compose.yml): one portal-worker per deployment, so no second scheduler is needed.
# Task names come from the shared contracts, so this module stays free of Django imports.
app.conf.beat_schedule = {
    "fhir-sync-pending": {
        "task": tasks.FHIR_SYNC_PENDING,
        "schedule": float(os.environ.get("NEURONOVA_FHIR_RESYNC_S", "300")),
        "options": {"queue": tasks.PORTAL_QUEUE},
    },
}
app.autodiscover_tasks()
