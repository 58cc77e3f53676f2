"""Adapter (ORM): create users and assign patients (admin actions, dev seeding)."""

from __future__ import annotations

from django.db import transaction

from accounts.models import PatientAssignment, Role, User

DEV_USERS = (
    ("admin", "admin-dev-pass", Role.ADMIN),
    ("radiologist", "radiologist-dev-pass", Role.RADIOLOGIST),
    ("clinician", "clinician-dev-pass", Role.CLINICIAN),
    ("clinician2", "clinician2-dev-pass", Role.CLINICIAN),
)
# NN-SYN-424242 is the patient `make demo` sends (the generator's default seed), so a clinician
# sees the demo study right after `make up && make demo`; NN-DEMO-0001 is the portal tests' patient.
DEV_ASSIGNMENTS = (("clinician", "NN-DEMO-0001"), ("clinician", "NN-SYN-424242"))


@transaction.atomic
def ensure_user(*, username: str, password: str, role: str) -> User:
    """Create or reset a user to exactly this password and role (idempotent)."""
    user, _ = User.objects.get_or_create(username=username)
    user.role = role
    user.is_active = True
    user.is_staff = user.is_superuser = role == Role.ADMIN
    user.set_password(password)
    user.save()
    return user


def assign_patient(*, user: User, patient_id: str) -> PatientAssignment:
    assignment, _ = PatientAssignment.objects.get_or_create(user=user, patient_id=patient_id)
    return assignment


def seed_dev_users() -> list[User]:
    users = [ensure_user(username=u, password=p, role=r) for u, p, r in DEV_USERS]
    by_name = {user.username: user for user in users}
    for username, patient_id in DEV_ASSIGNMENTS:
        assign_patient(user=by_name[username], patient_id=patient_id)
    return users
