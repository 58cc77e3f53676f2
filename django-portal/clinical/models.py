"""Adapter (ORM): patients, studies, series and AI jobs the portal knows about."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from django.db import models


class JobState(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


class Patient(models.Model):
    patient_id: models.CharField[str, str] = models.CharField(max_length=64, unique=True)
    patient_name: models.CharField[str, str] = models.CharField(max_length=200, blank=True)
    birth_date: models.CharField[str, str] = models.CharField(max_length=8, blank=True)
    sex: models.CharField[str, str] = models.CharField(max_length=16, blank=True)

    def __str__(self) -> str:
        return self.patient_id


class Study(models.Model):
    study_uid: models.CharField[str, str] = models.CharField(max_length=64, unique=True)
    orthanc_study_id: models.CharField[str, str] = models.CharField(
        max_length=64, unique=True, null=True, blank=True
    )
    patient: models.ForeignKey[Patient, Patient] = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="studies"
    )
    study_date: models.CharField[str, str] = models.CharField(max_length=8, blank=True)
    study_description: models.CharField[str, str] = models.CharField(max_length=200, blank=True)
    accession_number: models.CharField[str, str] = models.CharField(max_length=64, blank=True)
    modalities: models.CharField[str, str] = models.CharField(max_length=64, blank=True)
    series_count: models.IntegerField[int, int] = models.IntegerField(default=0)
    updated_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar = ["-study_date", "-id"]
        verbose_name_plural = "studies"

    def __str__(self) -> str:
        return self.study_uid


class Series(models.Model):
    study: models.ForeignKey[Study, Study] = models.ForeignKey(
        Study, on_delete=models.CASCADE, related_name="series"
    )
    series_uid: models.CharField[str, str] = models.CharField(max_length=64, unique=True)
    orthanc_series_id: models.CharField[str, str] = models.CharField(max_length=64, blank=True)
    modality: models.CharField[str, str] = models.CharField(max_length=16, blank=True)
    series_number: models.CharField[str, str] = models.CharField(max_length=16, blank=True)
    series_description: models.CharField[str, str] = models.CharField(max_length=200, blank=True)
    instance_count: models.IntegerField[int, int] = models.IntegerField(default=0)

    class Meta:
        verbose_name_plural = "series"

    def __str__(self) -> str:
        return self.series_uid


class AIJob(models.Model):
    """One AI analysis of a study; ``event_at`` orders the plugin's and worker's state events."""

    job_id: models.CharField[str, str] = models.CharField(max_length=200, unique=True)
    study: models.ForeignKey[Study, Study] = models.ForeignKey(
        Study, on_delete=models.CASCADE, related_name="jobs"
    )
    state: models.CharField[str, str] = models.CharField(max_length=16, choices=JobState.choices)
    reason: models.TextField[str, str] = models.TextField(blank=True)
    model_id: models.CharField[str, str] = models.CharField(max_length=100, blank=True)
    model_version: models.CharField[str, str] = models.CharField(max_length=50, blank=True)
    seg_series_uid: models.CharField[str, str] = models.CharField(max_length=64, blank=True)
    volumes_ml: models.JSONField[Any, Any] = models.JSONField(default=dict, blank=True)
    event_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()
    created_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.job_id} ({self.state})"
