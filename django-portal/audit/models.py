"""Adapter (ORM): append-only audit events."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from django.db import models


class AuditEvent(models.Model):
    at: models.DateTimeField[datetime, datetime] = models.DateTimeField(
        auto_now_add=True, db_index=True
    )
    user_id: models.BigIntegerField[int | None, int | None] = models.BigIntegerField(
        null=True, blank=True
    )
    username: models.CharField[str, str] = models.CharField(max_length=150, blank=True)
    action: models.CharField[str, str] = models.CharField(max_length=32, db_index=True)
    target: models.CharField[str, str] = models.CharField(max_length=300, blank=True)
    study_uid: models.CharField[str, str] = models.CharField(
        max_length=64, blank=True, db_index=True
    )
    allowed: models.BooleanField[bool, bool] = models.BooleanField()
    status_code: models.IntegerField[int, int] = models.IntegerField(default=0)
    client_ip: models.CharField[str, str] = models.CharField(max_length=64, blank=True)
    detail: models.CharField[str, str] = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering: ClassVar = ["-at", "-id"]

    def __str__(self) -> str:
        verdict = "allowed" if self.allowed else "denied"
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username or '-'} {self.action} {verdict}"
