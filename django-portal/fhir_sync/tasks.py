"""Wiring: Celery tasks `neuronova.fhir.*` (queue `portal`) that mirror studies to the FHIR server.

Both run on the portal worker (queue `portal`, the portal app's default queue; senders name it).
`sync_study` takes a study UID, reads what the portal knows, and sends what the server lacks.
Transient failures (5xx, 429, timeouts) retry through Celery with exponential back-off up to
FHIR_MAX_RETRIES, the study staying `pending`; a refusal (4xx) or exhausted retries marks it
`failed` with the server's message in `FhirSyncState.last_error`. Idempotent: re-running writes
nothing new (see sync.py), so `acks_late` redelivery is safe.

Two syncs of one study may run at once (several portal workers, or `--concurrency 2`), and the
one that read the older study may write the server last. So a sync reads the study's request
revision before the study and marks it `synced` only if no request came meanwhile; otherwise it
syncs again at once (the newer study is then read and written last). No lock is held over the
FHIR requests, so a slow FHIR server never holds up the portal's own writes (docs/fhir.md).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import timedelta

from celery import Task, shared_task
from django.utils import timezone
from neuronova_contracts import signing, tasks

from fhir_sync import source, store
from fhir_sync.client import FhirClient, FhirError, FhirTransientError
from fhir_sync.config import FhirConfig, get_config
from fhir_sync.sync import FhirServer, SyncReport, sync_snapshot
from fhir_sync.values import StudySnapshot

logger = logging.getLogger(__name__)

SYNC_STUDY = tasks.FHIR_SYNC_STUDY
SYNC_PENDING = tasks.FHIR_SYNC_PENDING
QUEUE = tasks.PORTAL_QUEUE
BACKOFF_BASE_S = 10
BACKOFF_MAX_S = 600
# Syncs again in one task when requests keep coming during the sync; past that, a new task.
MAX_ROUNDS = 5


# Seam for tests: where a study's values come from.
load_snapshot: Callable[..., StudySnapshot | None] = source.load_snapshot


@functools.lru_cache(maxsize=4)
def server_for(config: FhirConfig) -> FhirServer:
    """One client per configuration and process, so an OAuth2 token is reused across tasks."""
    return FhirClient(config)


def backoff_s(retries: int) -> int:
    return int(min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2**retries))


def _ids(report: SyncReport) -> dict[str, list[str]]:
    ids: dict[str, list[str]] = {}
    for written in report.written:
        ids.setdefault(written.resource_type, []).append(written.resource_id)
    return ids


@shared_task(name=SYNC_STUDY, bind=True, acks_late=True, max_retries=None)
def sync_study(self: Task[..., str], *, study_uid: str) -> str:
    config = get_config()
    if not config.enabled:
        return "disabled"
    for _ in range(MAX_ROUNDS):
        outcome = _sync_once(self, study_uid=study_uid, config=config)
        if outcome != "stale":
            return outcome
        logger.info("FHIR sync of %s: the study changed during the sync, again", study_uid)
    _send(study_uid)  # it keeps changing: leave it pending to a later task, free this worker
    return "pending"


def _sync_once(task: Task[..., str], *, study_uid: str, config: FhirConfig) -> str:
    """One pass: "synced", "failed", or "stale" (a newer request came: sync again)."""
    revision = store.revision_of(study_uid=study_uid)  # before the study: it may only be newer
    snapshot = load_snapshot(study_uid=study_uid)
    if snapshot is None:
        store.mark_failure(
            study_uid=study_uid,
            error="study unknown to the portal",
            gave_up=True,
            now=timezone.now(),
        )
        return "failed"
    try:
        report = sync_snapshot(snapshot, server=server_for(config), config=config)
    except FhirTransientError as exc:
        retries = task.request.retries or 0
        gave_up = retries >= config.max_retries
        store.mark_failure(study_uid=study_uid, error=str(exc), gave_up=gave_up, now=timezone.now())
        if gave_up:
            logger.warning("FHIR sync of %s gave up after %d retries: %s", study_uid, retries, exc)
            return "failed"
        logger.warning("FHIR sync of %s failed (will retry): %s", study_uid, exc)
        raise task.retry(exc=exc, countdown=backoff_s(retries)) from exc
    except FhirError as exc:  # refused (4xx): retrying the same content cannot help
        store.mark_failure(study_uid=study_uid, error=str(exc), gave_up=True, now=timezone.now())
        logger.warning("FHIR sync of %s refused: %s", study_uid, exc)
        return "failed"
    synced = store.mark_synced(
        study_uid=study_uid,
        sent=report.sent,
        resource_ids=_ids(report),
        now=timezone.now(),
        revision=revision,
    )
    return "synced" if synced else "stale"


def _send(study_uid: str) -> None:
    # Signed here, not only by the publish hook: run eagerly, nothing is published.
    key = str(getattr(sync_study, "task_key", ""))  # the portal app's SignedTask
    kwargs = signing.signed(key, SYNC_STUDY, {"study_uid": study_uid})
    sync_study.apply_async(kwargs=kwargs, queue=QUEUE)


@shared_task(name=SYNC_PENDING, acks_late=True)
def sync_pending(*, older_than_s: int = 900) -> int:
    """Re-queue studies pending for longer than `older_than_s` (run it from beat or by hand)."""
    if not get_config().enabled:
        return 0
    uids = store.stale_pending(older_than=timezone.now() - timedelta(seconds=older_than_s))
    for study_uid in uids:
        _send(study_uid)
    return len(uids)
