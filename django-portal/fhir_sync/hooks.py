"""Wiring: the portal's entry into FHIR sync (call it from `transaction.on_commit`).

clinical calls `on_study_updated(study_uid=...)` (registered in clinical.updates by this app's
ready()) after it has recorded a study or an AI job event. When FHIR sync is configured this
records the study as pending (the FHIR lag metric counts from here, even if no worker is
running) and queues `neuronova.fhir.sync_study` on the `portal` queue, by name, so this module
stays cheap and does nothing when sync is off.
"""

from __future__ import annotations

import logging

from celery import current_app
from django.utils import timezone
from kombu.exceptions import OperationalError
from neuronova_contracts import tasks

from fhir_sync import store
from fhir_sync.config import get_config

logger = logging.getLogger(__name__)


def on_study_updated(*, study_uid: str) -> None:
    """Schedule a FHIR sync of `study_uid` (no-op when FHIR_BASE_URL is empty)."""
    if not study_uid or not get_config().enabled:
        return
    store.mark_requested(study_uid=study_uid, now=timezone.now())
    try:
        current_app.send_task(
            tasks.FHIR_SYNC_STUDY, kwargs={"study_uid": study_uid}, queue=tasks.PORTAL_QUEUE
        )
    except OperationalError:
        # The broker is down: the study stays pending (the lag alert sees it) and
        # neuronova.fhir.sync_pending sends it later; the portal's own work must not fail.
        logger.warning("FHIR sync of %s not queued: broker unavailable", study_uid, exc_info=True)
