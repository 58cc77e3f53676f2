"""Wiring: the portal's Celery app; its worker consumes queue ``portal`` (job events, study mirror).

Start: ``celery -A neuronova_portal.celery:app worker -Q portal -n portal@%h`` with
PYTHONPATH=django-portal.
"""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue
from neuronova_contracts import tasks

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "neuronova_portal.settings")

app = Celery("neuronova_portal")
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
