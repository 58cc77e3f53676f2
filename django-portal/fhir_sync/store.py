"""Adapter (ORM): record FHIR sync requests, successes and failures per study."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from fhir_sync.models import FhirSyncState, SyncStatus

_ERROR_LIMIT = 2000


def mark_requested(*, study_uid: str, now: datetime) -> None:
    """A change waits for sync; an already pending study keeps its older request time (lag)."""
    with transaction.atomic():
        state, created = FhirSyncState.objects.select_for_update().get_or_create(
            study_uid=study_uid,
            defaults={"status": SyncStatus.PENDING, "requested_at": now},
        )
        if not created and (state.status != SyncStatus.PENDING or state.requested_at is None):
            state.status = SyncStatus.PENDING
            state.requested_at = now
            state.save(update_fields=["status", "requested_at", "updated_at"])


def mark_synced(
    *, study_uid: str, sent: int, resource_ids: dict[str, list[str]], now: datetime
) -> None:
    with transaction.atomic():
        state, _ = FhirSyncState.objects.select_for_update().get_or_create(study_uid=study_uid)
        state.status = SyncStatus.SYNCED
        state.synced_at = now
        state.requested_at = None
        state.attempts += 1
        state.last_error = ""
        state.resources_sent += sent
        state.resource_ids = resource_ids
        state.save()


def mark_failure(*, study_uid: str, error: str, gave_up: bool, now: datetime) -> None:
    """A failed attempt: still pending while retries remain, `failed` once sync gave up."""
    with transaction.atomic():
        state, _ = FhirSyncState.objects.select_for_update().get_or_create(
            study_uid=study_uid, defaults={"requested_at": now}
        )
        state.status = SyncStatus.FAILED if gave_up else SyncStatus.PENDING
        if state.requested_at is None:
            state.requested_at = now
        state.attempts += 1
        state.failures += 1
        state.last_error = error[:_ERROR_LIMIT]
        state.save()


def state_of(*, study_uid: str) -> FhirSyncState | None:
    return FhirSyncState.objects.filter(study_uid=study_uid).first()


def stale_pending(*, older_than: datetime, limit: int = 500) -> list[str]:
    """Studies still pending since before `older_than` (e.g. a worker died mid-retry)."""
    return list(
        FhirSyncState.objects.filter(status=SyncStatus.PENDING, requested_at__lt=older_than)
        .order_by("requested_at")
        .values_list("study_uid", flat=True)[:limit]
    )
