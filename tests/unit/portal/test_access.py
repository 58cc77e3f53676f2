"""Unit tests of the per-study decision and its per-token cache."""

from __future__ import annotations

from pacs.access import Authoriser, Principal, decide
from pacs.ttl_cache import TTLCache

OWNERS = {"1.1": "P1", "1.2": "P2"}


def clinician(*patients: str, active: bool = True) -> Principal:
    return Principal(1, "c", "clinician", active, frozenset(patients))


def test_decide_by_role_and_assignment() -> None:
    radiologist = Principal(2, "r", "radiologist", True, None)
    assert decide(radiologist, "9.9", OWNERS.get).allowed
    assert decide(clinician("P1"), "1.1", OWNERS.get).allowed
    assert not decide(clinician("P1"), "1.2", OWNERS.get).allowed
    assert not decide(clinician("P1"), "9.9", OWNERS.get).allowed  # unknown study
    assert not decide(clinician("P1", active=False), "1.1", OWNERS.get).allowed


def test_decisions_are_cached_per_token_and_study() -> None:
    calls: list[str] = []

    def owner(uid: str) -> str | None:
        calls.append(uid)
        return OWNERS.get(uid)

    authoriser = Authoriser(ttl_s=60, load_principal=lambda _id: None, patient_of_study=owner)
    who = clinician("P1")
    first = authoriser.may_read(token_id="t1", principal=who, study_uid="1.1")
    again = authoriser.may_read(token_id="t1", principal=who, study_uid="1.1")
    other_token = authoriser.may_read(token_id="t2", principal=who, study_uid="1.1")
    assert first.allowed
    assert first.fresh
    assert again.allowed
    assert not again.fresh
    assert other_token.fresh
    assert calls == ["1.1", "1.1"]


def test_ttl_cache_expires() -> None:
    now = [0.0]
    cache: TTLCache[str] = TTLCache(5, clock=lambda: now[0])
    cache.put("k", "v")
    assert cache.get("k") == "v"
    now[0] = 6
    assert cache.get("k") is None


def test_ttl_cache_is_bounded() -> None:
    cache: TTLCache[int] = TTLCache(60, max_entries=3)
    for i in range(10):
        cache.put(i, i)
    assert cache.get(9) == 9
    assert cache.get(0) is None
