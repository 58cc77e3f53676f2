"""Pure: the Authoriser — the policy plus short-lived caches, over Protocol-typed read sources.

Decisions are cached per (token or session key, StudyInstanceUID) for a few seconds so a viewer
pulling hundreds of frames costs one decision, not one database query per frame.
"""

from __future__ import annotations

from typing import Protocol

from common.ttl_cache import TTLCache

from authz.identity import StudyRef
from authz.policy import Decision, decide
from authz.principal import Principal


class PrincipalSource(Protocol):
    def __call__(self, *, user_id: int) -> Principal | None: ...


class StudySource(Protocol):
    """The study that owns a StudyInstanceUID in the portal, or None."""

    def __call__(self, *, study_uid: str) -> StudyRef | None: ...


class Authoriser:
    def __init__(self, *, ttl_s: float, principals: PrincipalSource, studies: StudySource) -> None:
        self._principals: TTLCache[Principal] = TTLCache(ttl_s)
        self._decisions: TTLCache[Decision] = TTLCache(ttl_s)
        self._load_principal = principals
        self._owner_of = studies

    def principal(self, user_id: int) -> Principal | None:
        cached = self._principals.get(user_id)
        if cached is not None:
            return cached
        loaded = self._load_principal(user_id=user_id)
        if loaded is not None:
            self._principals.put(user_id, loaded)
        return loaded

    def may_read(self, *, cache_key: str, principal: Principal, study_uid: str) -> Decision:
        """The decision for reading the study a UID stands for; ``cache_key`` names the
        credential (a token id) so a revoked or changed principal is not served a stale answer
        beyond the cache's few seconds."""
        key = (cache_key, principal.user_id, study_uid)
        cached = self._decisions.get(key)
        if cached is not None:
            return Decision(cached.allowed, cached.reason, fresh=False, study=cached.study)
        decision = decide(principal, self._owner_of(study_uid=study_uid))
        self._decisions.put(key, decision)
        return decision

    def clear(self) -> None:
        self._principals.clear()
        self._decisions.clear()
