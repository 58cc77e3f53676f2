"""Unit tests of the portal's series metadata cache (pacs.metadata) against the fake Orthanc:
hit, invalidation by the series' content, exact-resource keys under a StudyInstanceUID conflict,
authorisation before any cache read; the real chain is in tests/integration/portal."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from accounts import services as account_services
from accounts.models import User
from authz.identity import orthanc_id
from clinical import tasks
from django.test import Client
from pacs import metadata
from prometheus_client import REGISTRY

from tests.support.portal_fakes import FakeOrthanc, bearer

pytestmark = pytest.mark.django_db

S, SE = "1.2.826.0.5.7", "1.2.826.0.5.7.1"
OWNER, IMPOSTOR = "NN-OWNER", "NN-DEMO-0001"  # the impostor is `clinician`'s own patient
URL = f"/api/pacs/dicom-web/studies/{S}/series/{SE}/metadata"


@pytest.fixture
def archive(fake_orthanc: FakeOrthanc, monkeypatch: pytest.MonkeyPatch) -> FakeOrthanc:
    account_services.seed_dev_users()
    account_services.assign_patient(user=User.objects.get(username="clinician2"), patient_id=OWNER)
    fake_orthanc.close = lambda: None  # type: ignore[attr-defined]
    monkeypatch.setattr(tasks, "_orthanc", lambda: fake_orthanc)
    for n in (1, 2):
        fake_orthanc.add(patient_id=OWNER, study_uid=S, series_uid=SE, sop_uid=f"{SE}.{n}")
    tasks.study_arrived.run(orthanc_study_id=orthanc_id(OWNER, S))
    return fake_orthanc


def counted(result: str) -> float:
    return REGISTRY.get_sample_value("neuronova_metadata_cache_total", {"result": result}) or 0.0


def get(client: Client, user: str, path: str = URL, **headers: str) -> Any:
    return client.get(path, **bearer(client, user), **headers)  # type: ignore[arg-type]


def sops(answer: Any) -> list[str]:
    body = answer.content
    if answer.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return sorted(row["00080018"]["Value"][0] for row in json.loads(body))


def test_the_second_open_is_a_hit_served_gzipped_without_asking_orthanc_again(
    archive: FakeOrthanc,
) -> None:
    client = Client()
    hits, misses = counted("hit"), counted("miss")
    first = get(client, "radiologist", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    second = get(client, "radiologist", HTTP_ACCEPT_ENCODING="gzip")
    assert (first.status_code, second.status_code) == (200, 200)
    assert "X-Accel-Redirect" not in second
    assert second["Content-Type"] == "application/dicom+json"
    assert second["Content-Encoding"] == "gzip"
    assert second.content == first.content
    assert sops(second) == [f"{SE}.1", f"{SE}.2"]
    assert archive.metadata_reads == [SE]  # built once, from Orthanc's DICOMweb
    assert (counted("hit") - hits, counted("miss") - misses) == (1, 1)
    # URLs in the answer name what the client called (as nginx makes Orthanc write them).
    pixel = json.loads(gzip.decompress(second.content))[0]["7FE00010"]["BulkDataURI"]
    assert pixel.startswith(f"http://testserver/api/pacs/dicom-web/studies/{S}/series/{SE}/")
    plain = get(client, "radiologist", HTTP_ACCEPT_ENCODING="gzip;q=0, identity")
    assert "Content-Encoding" not in plain
    assert sops(plain) == [f"{SE}.1", f"{SE}.2"]


def test_a_new_or_deleted_instance_is_a_miss_with_the_series_as_it_is_now(
    archive: FakeOrthanc,
) -> None:
    client = Client()
    assert sops(get(client, "radiologist")) == [f"{SE}.1", f"{SE}.2"]
    archive.add(patient_id=OWNER, study_uid=S, series_uid=SE, sop_uid=f"{SE}.3")
    misses = counted("miss")
    assert sops(get(client, "radiologist")) == [f"{SE}.1", f"{SE}.2", f"{SE}.3"]
    first = orthanc_id(OWNER, S, SE, f"{SE}.1")
    deleted = archive.files.pop(first)
    assert sops(get(client, "radiologist")) == [f"{SE}.2", f"{SE}.3"]
    assert counted("miss") - misses == 2
    # Back to a version seen before: its entry is still right, so it is a hit.
    archive.files[first] = deleted
    hits = counted("hit")
    assert sops(get(client, "radiologist")) == [f"{SE}.1", f"{SE}.2", f"{SE}.3"]
    assert counted("hit") - hits == 1


def test_a_seg_series_added_to_the_study_leaves_its_source_series_entry_alone(
    archive: FakeOrthanc,
) -> None:
    client = Client()
    get(client, "radiologist")
    seg = f"{S}.99"
    archive.add(patient_id=OWNER, study_uid=S, series_uid=seg, sop_uid=f"{seg}.1", modality="SEG")
    hits = counted("hit")
    assert sops(get(client, "radiologist")) == [f"{SE}.1", f"{SE}.2"]
    assert counted("hit") - hits == 1
    answer = get(client, "radiologist", f"/api/pacs/dicom-web/studies/{S}/series/{seg}/metadata")
    assert sops(answer) == [f"{seg}.1"]


def test_no_cache_read_before_the_caller_is_authorised(archive: FakeOrthanc) -> None:
    client = Client()
    assert get(client, "radiologist").status_code == 200  # the entry exists
    hits = counted("hit")
    refused = get(client, "clinician")  # not assigned to the owner
    assert refused.status_code == 403
    assert b"00080018" not in refused.content
    assert counted("hit") == hits


def test_a_conflict_never_gets_the_owners_entry_nor_the_owner_the_impostors(
    archive: FakeOrthanc,
) -> None:
    """The impostor's study reuses every UID of the owner's series, under the impostor's own
    patient: the UID still means the owner's series, whose entry was made before the impostor
    arrived; the impostor's clinician is refused; readers of the owner never see the impostor."""
    client = Client()
    warmed = sops(get(client, "clinician2"))  # the owner's own clinician fills the cache
    archive.add(patient_id=IMPOSTOR, study_uid=S, series_uid=SE, sop_uid=f"{SE}.1")
    archive.add(patient_id=IMPOSTOR, study_uid=S, series_uid=SE, sop_uid=f"{SE}.666")
    tasks.study_arrived.run(orthanc_study_id=orthanc_id(IMPOSTOR, S))
    attacker = get(client, "clinician")  # assigned the impostor patient only
    assert attacker.status_code == 403
    assert b"00080018" not in attacker.content
    for reader in ("radiologist", "clinician2"):
        answer = get(client, reader)
        assert answer.status_code == 200
        assert sops(answer) == warmed == [f"{SE}.1", f"{SE}.2"]
        body = answer.content
        rows = json.loads(gzip.decompress(body) if answer.get("Content-Encoding") else body)
        assert {row["00100020"]["Value"][0] for row in rows} == {OWNER}


def test_xml_or_query_parameters_go_to_orthanc_as_before(archive: FakeOrthanc) -> None:
    client = Client()
    xml = get(client, "radiologist", HTTP_ACCEPT='multipart/related; type="application/dicom+xml"')
    assert xml["X-Accel-Redirect"].startswith(f"/internal-orthanc/dicom-web/studies/{S}/series/")
    fields = get(client, "radiologist", URL + "?includefield=all")
    assert "X-Accel-Redirect" in fields
    assert archive.metadata_reads == []


@pytest.mark.parametrize(
    ("accept", "json_answer"),
    [
        ("", True),
        ("application/dicom+json", True),
        ("application/json, */*;q=0.1", True),
        ("application/dicom+json;q=0", False),
        ('multipart/related; type="application/dicom+xml"', False),
    ],
)
def test_which_accept_headers_are_answered_from_the_cache(accept: str, json_answer: bool) -> None:
    request = Client().get("/").wsgi_request
    request.META["HTTP_ACCEPT"] = accept
    assert metadata.cacheable(request, ()) is json_answer


def test_the_version_ignores_order_and_changes_with_the_set() -> None:
    assert metadata.version(["b", "a"]) == metadata.version(["a", "b"])
    assert metadata.version(["a", "b"]) != metadata.version(["a", "b", "c"])
    assert metadata.version(["a"]) != metadata.version(["b"])


def test_when_an_admin_hands_the_uid_to_the_other_study_its_readers_never_get_the_old_entry(
    archive: FakeOrthanc,
) -> None:
    """The UID now stands for the other patient's study: an entry keyed by UIDs would hand that
    study's clinician the former owner's metadata; entries are keyed by the exact series."""
    from clinical import services  # noqa: PLC0415
    from clinical.models import Study  # noqa: PLC0415

    client = Client()
    archive.add(patient_id=IMPOSTOR, study_uid=S, series_uid=SE, sop_uid=f"{SE}.666")
    tasks.study_arrived.run(orthanc_study_id=orthanc_id(IMPOSTOR, S))
    assert sops(get(client, "clinician2")) == [f"{SE}.1", f"{SE}.2"]  # the owner's, cached
    services.hand_uid_to(
        study=Study.objects.get(orthanc_study_id=orthanc_id(IMPOSTOR, S)), reviewer="admin"
    )
    from pacs import gateway  # noqa: PLC0415

    gateway.clear_caches()  # decisions cached for seconds: as after they expire
    answer = get(client, "clinician")  # the impostor patient's clinician, now the UID's reader
    assert answer.status_code == 200
    assert sops(answer) == [f"{SE}.666"]
    body = answer.content
    rows = json.loads(gzip.decompress(body) if answer.get("Content-Encoding") else body)
    assert {row["00100020"]["Value"][0] for row in rows} == {IMPOSTOR}
    assert get(client, "clinician2").status_code == 403


STUDY_URL = f"/api/pacs/dicom-web/studies/{S}/metadata"


def rows(answer: Any) -> list[dict[str, Any]]:
    body = answer.content
    return list(json.loads(gzip.decompress(body) if answer.get("Content-Encoding") else body))


def test_the_study_metadata_is_cached_and_any_new_series_of_the_study_changes_its_entry(
    archive: FakeOrthanc,
) -> None:
    client = Client()
    hits, misses = counted("hit"), counted("miss")
    first = get(client, "radiologist", STUDY_URL, HTTP_ACCEPT_ENCODING="gzip")
    second = get(client, "radiologist", STUDY_URL, HTTP_ACCEPT_ENCODING="gzip")
    assert (first.status_code, second.status_code) == (200, 200)
    assert "X-Accel-Redirect" not in second
    assert second["Content-Encoding"] == "gzip"
    assert sops(second) == [f"{SE}.1", f"{SE}.2"]
    assert archive.metadata_reads == [S]  # built once, from Orthanc's DICOMweb study metadata
    assert (counted("hit") - hits, counted("miss") - misses) == (1, 1)
    pixel = rows(second)[0]["7FE00010"]["BulkDataURI"]
    assert pixel.startswith(f"http://testserver/api/pacs/dicom-web/studies/{S}/series/{SE}/")
    seg = f"{S}.99"
    archive.add(patient_id=OWNER, study_uid=S, series_uid=seg, sop_uid=f"{seg}.1", modality="SEG")
    assert sops(get(client, "radiologist", STUDY_URL)) == [f"{SE}.1", f"{SE}.2", f"{seg}.1"]
    assert archive.metadata_reads == [S, S]
    # The series entry is its own: asking the study did not fill it.
    assert sops(get(client, "radiologist")) == [f"{SE}.1", f"{SE}.2"]
    assert archive.metadata_reads == [S, S, SE]


def test_no_study_cache_read_before_the_caller_is_authorised(archive: FakeOrthanc) -> None:
    client = Client()
    assert get(client, "radiologist", STUDY_URL).status_code == 200  # the entry exists
    hits = counted("hit")
    refused = get(client, "clinician", STUDY_URL)
    assert refused.status_code == 403
    assert b"00080018" not in refused.content
    assert counted("hit") == hits


def test_a_study_uid_conflict_never_crosses_study_entries_not_even_after_a_hand_over(
    archive: FakeOrthanc,
) -> None:
    """The impostor's study reuses the owner's StudyInstanceUID under another patient. The
    owner's entry (made first) is never given to the impostor's clinician; the owner's readers
    get the owner's instances only; once an admin hands the UID to the impostor's study, its
    reader gets that study, never the former owner's cached entry."""
    from clinical import services  # noqa: PLC0415
    from clinical.models import Study  # noqa: PLC0415
    from pacs import gateway  # noqa: PLC0415

    client = Client()
    warmed = sops(get(client, "clinician2", STUDY_URL))
    assert warmed == [f"{SE}.1", f"{SE}.2"]
    archive.add(patient_id=IMPOSTOR, study_uid=S, series_uid=SE, sop_uid=f"{SE}.1")
    archive.add(patient_id=IMPOSTOR, study_uid=S, series_uid=f"{S}.7", sop_uid=f"{S}.7.666")
    tasks.study_arrived.run(orthanc_study_id=orthanc_id(IMPOSTOR, S))
    attacker = get(client, "clinician", STUDY_URL)
    assert attacker.status_code == 403
    assert b"00080018" not in attacker.content
    for reader in ("radiologist", "clinician2"):
        answer = get(client, reader, STUDY_URL)
        assert answer.status_code == 200
        assert sops(answer) == warmed
        assert {row["00100020"]["Value"][0] for row in rows(answer)} == {OWNER}

    services.hand_uid_to(
        study=Study.objects.get(orthanc_study_id=orthanc_id(IMPOSTOR, S)), reviewer="admin"
    )
    gateway.clear_caches()  # decisions cached for seconds: as after they expire
    answer = get(client, "clinician", STUDY_URL)
    assert answer.status_code == 200
    assert sops(answer) == [f"{SE}.1", f"{S}.7.666"]
    assert {row["00100020"]["Value"][0] for row in rows(answer)} == {IMPOSTOR}
    assert get(client, "clinician2", STUDY_URL).status_code == 403
