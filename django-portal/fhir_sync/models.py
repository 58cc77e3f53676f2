"""Adapter (ORM): the FHIR sync state of each study (what was sent, when, and the last error)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from django.db import models


class SyncStatus(models.TextChoices):
    PENDING = "pending"  # asked for, not yet on the FHIR server (includes retries in progress)
    SYNCED = "synced"
    FAILED = "failed"  # given up: the server refused (4xx) or retries ran out; see last_error


class FhirSyncState(models.Model):
    study_uid: models.CharField[str, str] = models.CharField(max_length=64, unique=True)
    status: models.CharField[str, str] = models.CharField(
        max_length=16, choices=SyncStatus.choices, default=SyncStatus.PENDING
    )
    # When the oldest unsynced change was asked for: FHIR lag is measured from here.
    requested_at: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(
        null=True, blank=True
    )
    synced_at: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(
        null=True, blank=True
    )
    attempts: models.PositiveIntegerField[int, int] = models.PositiveIntegerField(default=0)
    # Sync requests so far (each study change adds one): a sync marks the study `synced` only
    # when no request came after the one it read, else it syncs again (fhir_sync.tasks).
    revision: models.PositiveIntegerField[int, int] = models.PositiveIntegerField(default=0)
    last_error: models.TextField[str, str] = models.TextField(blank=True)
    # Running totals for the metrics: resources created/updated, and failed attempts.
    resources_sent: models.PositiveIntegerField[int, int] = models.PositiveIntegerField(default=0)
    failures: models.PositiveIntegerField[int, int] = models.PositiveIntegerField(default=0)
    # Server ids of what the last successful sync wrote or found: {"Patient": ["id"], ...}
    resource_ids: models.JSONField[Any, Any] = models.JSONField(default=dict, blank=True)
    updated_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar = ["-updated_at"]
        verbose_name = "FHIR sync state"

    def __str__(self) -> str:
        return f"{self.study_uid} ({self.status})"
