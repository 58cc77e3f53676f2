"""Pure: who may read which study, given a principal and the study's patient.

Decisions are cached per (token id, study) for a few seconds so a viewer pulling hundreds of
frames costs one decision, not one database query per frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pacs.ttl_cache import TTLCache


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


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str
    fresh: bool  # computed now (audit it) rather than served from the cache


class Authoriser:
    def __init__(
        self,
        *,
        ttl_s: float,
        load_principal: Callable[[int], Principal | None],
        patient_of_study: Callable[[str], str | None],
    ) -> None:
        self._principals: TTLCache[Principal] = TTLCache(ttl_s)
        self._decisions: TTLCache[Decision] = TTLCache(ttl_s)
        self._load_principal = load_principal
        self._patient_of_study = patient_of_study

    def principal(self, user_id: int) -> Principal | None:
        cached = self._principals.get(user_id)
        if cached is not None:
            return cached
        loaded = self._load_principal(user_id)
        if loaded is not None:
            self._principals.put(user_id, loaded)
        return loaded

    def may_read(self, *, token_id: str, principal: Principal, study_uid: str) -> Decision:
        key = (token_id, study_uid)
        cached = self._decisions.get(key)
        if cached is not None:
            return Decision(cached.allowed, cached.reason, fresh=False)
        decision = decide(principal, study_uid, self._patient_of_study)
        self._decisions.put(key, decision)
        return decision

    def clear(self) -> None:
        self._principals.clear()
        self._decisions.clear()


def decide(
    principal: Principal, study_uid: str, patient_of_study: Callable[[str], str | None]
) -> Decision:
    if not principal.active:
        return Decision(False, "user inactive", fresh=True)
    if principal.sees_everything:
        return Decision(True, f"role {principal.role}", fresh=True)
    patient_id = patient_of_study(study_uid)
    if patient_id is None:
        return Decision(False, "study unknown to the portal", fresh=True)
    assert principal.patient_ids is not None
    if patient_id in principal.patient_ids:
        return Decision(True, "assigned patient", fresh=True)
    return Decision(False, "patient not assigned", fresh=True)
