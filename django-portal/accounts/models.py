"""Adapter (ORM): users with a role, and which patients each clinician may see."""

from __future__ import annotations

from typing import ClassVar

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Administrator"
    RADIOLOGIST = "radiologist", "Radiologist"
    CLINICIAN = "clinician", "Clinician"


# Roles that may read every study; clinicians see only their assigned patients.
ALL_STUDIES_ROLES = frozenset({Role.ADMIN.value, Role.RADIOLOGIST.value})


class User(AbstractUser):
    role: models.CharField[str, str] = models.CharField(
        max_length=16, choices=Role.choices, default=Role.CLINICIAN
    )


class PatientAssignment(models.Model):
    """A clinician may see a patient's studies.

    Keyed by the DICOM PatientID (0010,0020), not by a mirrored row, so an admin can assign a
    patient before the first study of that patient reaches the portal.
    """

    user: models.ForeignKey[User, User] = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="assignments"
    )
    patient_id: models.CharField[str, str] = models.CharField(max_length=64, db_index=True)
    assigned_at: models.DateTimeField[object, object] = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "patient_id"], name="unique_assignment")
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.patient_id}"
