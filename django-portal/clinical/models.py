"""Adapter (ORM): patients, studies, series and AI jobs the portal knows about."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from django.db import models
from neuronova_contracts.jobs import JobState

__all__ = ["AIJob", "JobState", "Patient", "Series", "Study"]


class Patient(models.Model):
    patient_id: models.CharField[str, str] = models.CharField(max_length=64, unique=True)
    patient_name: models.CharField[str, str] = models.CharField(max_length=200, blank=True)
    birth_date: models.CharField[str, str] = models.CharField(max_length=8, blank=True)
    sex: models.CharField[str, str] = models.CharField(max_length=16, blank=True)

    def __str__(self) -> str:
        return self.patient_id


class Study(models.Model):
    """One Orthanc study: its identity is ``orthanc_study_id`` (PatientID + StudyInstanceUID).

    ``claimed_uid`` is the StudyInstanceUID when this study owns it (the first study mirrored
    with that UID); it is NULL for a *conflict*: a later study of another patient that reuses
    the UID. Conflicts are kept (nothing received is lost) but no UID-addressed door leads to
    them, no clinician sees them, and admins review them (docs/portal.md).
    """

    study_uid: models.CharField[str, str] = models.CharField(max_length=64, db_index=True)
    orthanc_study_id: models.CharField[str, str] = models.CharField(max_length=64, unique=True)
    claimed_uid: models.CharField[str | None, str | None] = models.CharField(
        max_length=64, unique=True, null=True, blank=True
    )
    conflict_with: models.ForeignKey[Study | None, Study | None] = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="conflicts"
    )
    conflict_since: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(
        null=True, blank=True
    )
    conflict_reviewed_at: models.DateTimeField[datetime | None, datetime | None] = (
        models.DateTimeField(null=True, blank=True)
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
        return self.study_uid if self.claimed_uid else f"{self.study_uid} (conflict)"

    @property
    def is_conflict(self) -> bool:
        return self.claimed_uid is None


class Series(models.Model):
    study: models.ForeignKey[Study, Study] = models.ForeignKey(
        Study, on_delete=models.CASCADE, related_name="series"
    )
    series_uid: models.CharField[str, str] = models.CharField(max_length=64, db_index=True)
    orthanc_series_id: models.CharField[str, str] = models.CharField(max_length=64, unique=True)
    modality: models.CharField[str, str] = models.CharField(max_length=16, blank=True)
    series_number: models.CharField[str, str] = models.CharField(max_length=16, blank=True)
    series_description: models.CharField[str, str] = models.CharField(max_length=200, blank=True)
    instance_count: models.IntegerField[int, int] = models.IntegerField(default=0)

    class Meta:
        verbose_name_plural = "series"

    def __str__(self) -> str:
        return self.series_uid


class AIJob(models.Model):
    """One AI analysis of one exact study; ``event_at`` orders the plugin's and worker's events.

    Job ids name the Orthanc study (``<orthanc_study_id>:<model>:<version>[:r<n>]``), so a job of
    another patient's study that reuses the StudyInstanceUID can never update this one.
    """

    job_id: models.CharField[str, str] = models.CharField(max_length=200, unique=True)
    study: models.ForeignKey[Study, Study] = models.ForeignKey(
        Study, on_delete=models.CASCADE, related_name="jobs"
    )
    state: models.CharField[str, str] = models.CharField(
        max_length=16, choices=[(s.value, s.value.capitalize()) for s in JobState]
    )
    reason: models.TextField[str, str] = models.TextField(blank=True)
    model_id: models.CharField[str, str] = models.CharField(max_length=100, blank=True)
    model_version: models.CharField[str, str] = models.CharField(max_length=50, blank=True)
    seg_series_uid: models.CharField[str, str] = models.CharField(max_length=64, blank=True)
    volumes_ml: models.JSONField[Any, Any] = models.JSONField(default=dict, blank=True)
    # Quality control of a done result (the inference worker's score, 0..1; under the model's
    # threshold the result needs a radiologist's review) and the score's parts.
    qc_score: models.FloatField[float | None, float | None] = models.FloatField(
        null=True, blank=True
    )
    needs_review: models.BooleanField[bool, bool] = models.BooleanField(default=False)
    qc: models.JSONField[Any, Any] = models.JSONField(default=dict, blank=True)
    event_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()
    created_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.job_id} ({self.state})"


class ReviewState(models.TextChoices):
    """A radiologist's verdict on one AI result; every result starts pending (no Review row)."""

    PENDING_REVIEW = "pending_review"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EDITED = "edited"


class EditedSegmentation(models.Model):
    """A radiologist's edited DICOM SEG, stored through the portal's STOW-RS into one study.

    A new series beside the AI's SEG (which is kept). The volumes are the server's own count of
    the SEG's pixels, never figures a client sent; ``created_by`` is the principal who stored it
    (the content creator, whatever the file's ContentCreatorName says).
    """

    study: models.ForeignKey[Study, Study] = models.ForeignKey(
        Study, on_delete=models.CASCADE, related_name="edited_segmentations"
    )
    series_uid: models.CharField[str, str] = models.CharField(max_length=64)
    sop_instance_uid: models.CharField[str, str] = models.CharField(max_length=64, unique=True)
    orthanc_instance_id: models.CharField[str, str] = models.CharField(max_length=64, blank=True)
    referenced_series_uids: models.JSONField[Any, Any] = models.JSONField(default=list)
    volumes_ml: models.JSONField[Any, Any] = models.JSONField(default=dict)
    content_creator: models.CharField[str, str] = models.CharField(max_length=150)
    created_by: models.CharField[str, str] = models.CharField(max_length=150)
    stored_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()

    class Meta:
        ordering: ClassVar = ["-stored_at", "-id"]

    def __str__(self) -> str:
        return f"{self.series_uid} by {self.created_by}"


class Review(models.Model):
    """The signed review of one AI result (one AI job). No row: ``pending_review``.

    ``version`` counts signatures: 1 is the first (FHIR ``final``), more is an amendment.
    """

    job: models.OneToOneField[AIJob, AIJob] = models.OneToOneField(
        AIJob, on_delete=models.CASCADE, related_name="review"
    )
    state: models.CharField[str, str] = models.CharField(max_length=16, choices=ReviewState.choices)
    impression: models.TextField[str, str] = models.TextField()
    reason: models.TextField[str, str] = models.TextField(blank=True)
    edited_seg: models.ForeignKey[EditedSegmentation | None, EditedSegmentation | None] = (
        models.ForeignKey(EditedSegmentation, on_delete=models.PROTECT, null=True, blank=True)
    )
    reviewer: models.CharField[str, str] = models.CharField(max_length=150)
    reviewed_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()
    version: models.IntegerField[int, int] = models.IntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.job.job_id}: {self.state} by {self.reviewer}"
