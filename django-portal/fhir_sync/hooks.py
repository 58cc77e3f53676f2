"""Wiring: the portal's entry into FHIR sync (call it from `transaction.on_commit`).

The portal calls `on_study_updated(study_uid=...)` after it has recorded a study or an AI job
event; when FHIR sync is configured this queues `neuronova.fhir.sync_study` on the `portal`
queue. The task is sent by name so this module imports neither the tasks nor the FHIR client,
and costs nothing when sync is off.
"""

from __future__ import annotations

from celery import current_app

from fhir_sync.config import get_config

SYNC_STUDY_TASK = "neuronova.fhir.sync_study"
PORTAL_QUEUE = "portal"


def on_study_updated(*, study_uid: str) -> None:
    """Schedule a FHIR sync of `study_uid` (no-op when FHIR_BASE_URL is empty)."""
    if not study_uid or not get_config().enabled:
        return
    current_app.send_task(SYNC_STUDY_TASK, kwargs={"study_uid": study_uid}, queue=PORTAL_QUEUE)
