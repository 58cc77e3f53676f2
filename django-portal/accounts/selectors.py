"""Adapter (ORM, read-only): users' roles and clinician assignments."""

from __future__ import annotations

from dataclasses import dataclass

from authz.principal import Principal
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts.models import ALL_STUDIES_ROLES, PatientAssignment, User


def principal(*, user_id: int) -> Principal | None:
    user = User.objects.filter(pk=user_id).only("id", "username", "role", "is_active").first()
    if user is None:
        return None
    return Principal(
        user_id=user.pk,
        username=user.get_username(),
        role=user.role,
        active=user.is_active,
        patient_ids=None if user.role in ALL_STUDIES_ROLES else assigned_patient_ids(user=user),
    )


def assigned_patient_ids(*, user: User) -> frozenset[str]:
    return frozenset(
        PatientAssignment.objects.filter(user=user).values_list("patient_id", flat=True)
    )


@dataclass(frozen=True, slots=True)
class CredentialState:
    active: bool
    password_digest: str  # simplejwt's hash_password claim for the current password


def credential_state(*, user_id: int) -> CredentialState | None:
    row = User.objects.filter(pk=user_id).values_list("is_active", "password").first()
    if row is None:
        return None
    return CredentialState(active=bool(row[0]), password_digest=get_md5_hash_password(row[1]))
