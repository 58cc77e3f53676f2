"""Wiring: the portal's Celery app; its worker consumes queue ``portal`` (job events, study mirror).

Start: ``celery -A neuronova_portal.celery:app worker -Q portal -n portal@%h`` with
PYTHONPATH=django-portal.
"""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "neuronova_portal.settings")

app = Celery("neuronova_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_default_queue="portal",
    task_queues=(Queue("portal"),),
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
)
app.autodiscover_tasks()
