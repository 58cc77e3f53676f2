"""Pure: the caller as authorisation sees them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    username: str
    role: str
    active: bool
    patient_ids: frozenset[str] | None  # None: every study (admin, radiologist)

    @property
    def sees_everything(self) -> bool:
        return self.patient_ids is None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"
