"""Adapter (ORM): record FHIR sync requests, successes and failures per study.

Each change is one UPDATE with F() arithmetic after an idempotent get_or_create, not a
read-modify-write transaction: on SQLite (the native default) a transaction that reads and then
writes fails at once with "database is locked" when another worker writes meanwhile, whereas a
plain UPDATE waits for the lock.

`revision` counts sync requests. A sync reads it before reading the study and marks the study
`synced` only if it is still the same (one conditional UPDATE): a request that came during the
sync means the sync may have written an older study than the latest, so it must sync again.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import F, Value
from django.db.models.functions import Coalesce

from fhir_sync.models import FhirSyncState, SyncStatus

_ERROR_LIMIT = 2000


def _row(study_uid: str, now: datetime) -> None:
    FhirSyncState.objects.get_or_create(
        study_uid=study_uid, defaults={"status": SyncStatus.PENDING, "requested_at": now}
    )


def mark_requested(*, study_uid: str, now: datetime) -> None:
    """A change waits for sync; an already pending study keeps its older request time (lag)."""
    _row(study_uid, now)
    rows = FhirSyncState.objects.filter(study_uid=study_uid)
    rows.update(revision=F("revision") + 1)
    rows.exclude(status=SyncStatus.PENDING).update(status=SyncStatus.PENDING, requested_at=now)
    rows.filter(requested_at__isnull=True).update(requested_at=now)


def revision_of(*, study_uid: str) -> int:
    """The study's sync requests so far (0 when none was recorded); read it before the study."""
    found = FhirSyncState.objects.filter(study_uid=study_uid).values_list("revision", flat=True)
    return next(iter(found), 0)


def mark_synced(
    *,
    study_uid: str,
    sent: int,
    resource_ids: dict[str, list[str]],
    now: datetime,
    revision: int,
) -> bool:
    """`synced` if no request came after `revision`; False (still pending) when one did."""
    _row(study_uid, now)
    rows = FhirSyncState.objects.filter(study_uid=study_uid)
    done = rows.filter(revision=revision).update(
        status=SyncStatus.SYNCED,
        synced_at=now,
        requested_at=None,
        attempts=F("attempts") + 1,
        last_error="",
        resources_sent=F("resources_sent") + sent,
        resource_ids=resource_ids,
        updated_at=now,
    )
    if not done:  # an attempt, and what it sent counts; the status stays as the request set it
        rows.update(
            attempts=F("attempts") + 1,
            resources_sent=F("resources_sent") + sent,
            updated_at=now,
        )
    return bool(done)


def mark_failure(*, study_uid: str, error: str, gave_up: bool, now: datetime) -> None:
    """A failed attempt: still pending while retries remain, `failed` once sync gave up."""
    _row(study_uid, now)
    FhirSyncState.objects.filter(study_uid=study_uid).update(
        status=SyncStatus.FAILED if gave_up else SyncStatus.PENDING,
        requested_at=Coalesce(F("requested_at"), Value(now)),
        attempts=F("attempts") + 1,
        failures=F("failures") + 1,
        last_error=error[:_ERROR_LIMIT],
        updated_at=now,
    )


def state_of(*, study_uid: str) -> FhirSyncState | None:
    return FhirSyncState.objects.filter(study_uid=study_uid).first()


def stale_pending(*, older_than: datetime, limit: int = 500) -> list[str]:
    """Studies still pending since before `older_than` (e.g. a worker died mid-retry)."""
    return list(
        FhirSyncState.objects.filter(status=SyncStatus.PENDING, requested_at__lt=older_than)
        .order_by("requested_at")
        .values_list("study_uid", flat=True)[:limit]
    )
