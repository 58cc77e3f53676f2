"""Unit tests of authz: the policy, Orthanc's ids, the per-credential decision cache."""

from __future__ import annotations

import pytest
from authz.authoriser import Authoriser
from authz.identity import StudyRef, orthanc_id
from authz.policy import decide
from authz.principal import Principal
from common.ttl_cache import TTLCache

OWNERS = {
    "1.1": StudyRef("1.1", "P1", orthanc_id("P1", "1.1")),
    "1.2": StudyRef("1.2", "P2", orthanc_id("P2", "1.2")),
}


def clinician(*patients: str, active: bool = True) -> Principal:
    return Principal(1, "c", "clinician", active, frozenset(patients))


def owner(*, study_uid: str) -> StudyRef | None:
    return OWNERS.get(study_uid)


def test_decide_by_role_and_the_owner_of_the_exact_study() -> None:
    radiologist = Principal(2, "r", "radiologist", True, None)
    assert decide(radiologist, None).allowed  # not mirrored yet: the gateway asks the archive
    assert decide(radiologist, OWNERS["1.2"]).study == OWNERS["1.2"]
    assert decide(clinician("P1"), OWNERS["1.1"]).allowed
    assert decide(clinician("P1"), OWNERS["1.1"]).study == OWNERS["1.1"]
    assert not decide(clinician("P1"), OWNERS["1.2"]).allowed
    assert not decide(clinician("P1"), None).allowed  # unknown study
    assert not decide(clinician("P1", active=False), OWNERS["1.1"]).allowed
    assert not decide(Principal(3, "a", "admin", False, None), OWNERS["1.1"]).allowed


def test_orthanc_ids_are_orthancs_own() -> None:
    """Ids a real Orthanc 1.10 gave these identifiers (tests/security checks them live)."""
    study = "1.2.826.0.1.3680043.10.999.1"
    assert orthanc_id("VICTIM", study) == "143362ac-9216039c-dd31db05-0b44d848-63ac73c1"
    assert orthanc_id("VICTIM", study, f"{study}.1") == (
        "ce91a411-824d735e-46948111-b4c84710-4310962c"
    )
    assert orthanc_id("VICTIM", study, f"{study}.1", f"{study}.1.1") == (
        "48c6ca59-e0d12861-e0d9ffaf-fb132799-2898eb8d"
    )
    # the same UIDs under another PatientID are another resource
    assert orthanc_id("ATTACK", study, f"{study}.1", f"{study}.1.1") == (
        "39293323-9689da95-678f7afb-3dc24534-74f5ffe4"
    )
    ref = StudyRef(study, "VICTIM", orthanc_id("VICTIM", study))
    assert ref.instance_id(f"{study}.1", f"{study}.1.1").startswith("48c6ca59-")
    with pytest.raises(ValueError, match="study UID"):
        orthanc_id("P1")


def test_decisions_are_cached_per_credential_and_study() -> None:
    calls: list[str] = []

    def counted(*, study_uid: str) -> StudyRef | None:
        calls.append(study_uid)
        return OWNERS.get(study_uid)

    authoriser = Authoriser(ttl_s=60, principals=lambda *, user_id: None, studies=counted)
    who = clinician("P1")
    first = authoriser.may_read(cache_key="t1", principal=who, study_uid="1.1")
    again = authoriser.may_read(cache_key="t1", principal=who, study_uid="1.1")
    other_token = authoriser.may_read(cache_key="t2", principal=who, study_uid="1.1")
    assert first.allowed
    assert first.fresh
    assert again.allowed
    assert not again.fresh
    assert again.study == OWNERS["1.1"]
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
