"""What Orthanc receives for each QIDO / WADO-URI feature, byte for byte, through the portal.

For admins and radiologists that is the query in the X-Accel-Redirect (nginx hands its
arguments to Orthanc unchanged); for clinicians, the query Django sends Orthanc itself (the fake
Orthanc records it). Two dialects of Orthanc: VERBATIM (Debian 12's 1.10.1: no percent-decoding)
and DECODED (1.12.10+: civetweb decodes before splitting), see pacs.query.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from accounts import services as account_services
from accounts.models import User
from clinical.models import Patient, Study
from django.core.cache import cache
from django.test import Client
from pacs import lookup
from pacs.query import Dialect

from tests.support.portal_fakes import FakeOrthanc, bearer

pytestmark = pytest.mark.django_db

S1, SE1, I1 = "1.2.826.0.1.1", "1.2.826.0.1.1.1", "1.2.826.0.1.1.1.1"
S2 = "1.2.826.0.1.2"
QIDO = "/internal-orthanc/dicom-web/studies?"
TS = "1.2.840.10008.1.2.1"  # the fake instance's stored syntax


@pytest.fixture
def client(fake_orthanc: FakeOrthanc) -> Client:
    cache.clear()
    account_services.seed_dev_users()
    account_services.assign_patient(
        user=User.objects.get(username="clinician2"), patient_id="NN-OTHER"
    )
    for patient_id, study_uid in (("NN-DEMO-0001", S1), ("NN-OTHER", S2)):
        patient = Patient.objects.create(patient_id=patient_id, patient_name="Growth^Seven")
        Study.objects.create(
            study_uid=study_uid,
            claimed_uid=study_uid,
            orthanc_study_id=f"o-{study_uid}",
            patient=patient,
        )
    fake_orthanc.add(
        patient_id="NN-DEMO-0001",
        study_uid=S1,
        series_uid=SE1,
        sop_uid=I1,
        transfer_syntax="1.2.840.10008.1.2.1",
    )
    return Client()


def accel(client: Client, path: str, user: str = "radiologist") -> str:
    response = client.get(path, **bearer(client, user))  # type: ignore[arg-type]
    assert response.status_code == 200, response.content
    return str(response["X-Accel-Redirect"])


@pytest.mark.parametrize(
    ("sent", "received"),
    [
        ("PatientName=GROWTH*", "PatientName=GROWTH*"),  # wildcard *
        ("PatientName=GROWTH%2A", "PatientName=GROWTH*"),  # the same, percent-encoded
        ("PatientName=GROWTH?7", "PatientName=GROWTH?7"),  # wildcard ?
        ("PatientName=GROWTH%3F7", "PatientName=GROWTH?7"),
        ("PatientName=GROWTH^7", "PatientName=GROWTH^7"),  # person name components
        ("PatientName=GROWTH%5E7", "PatientName=GROWTH^7"),
        ("StudyDate=20250101-20270101", "StudyDate=20250101-20270101"),  # date range
        ("StudyDate=-20270101", "StudyDate=-20270101"),
        ("StudyDate=20250101-", "StudyDate=20250101-"),
        ("StudyTime=080000-120000.5", "StudyTime=080000-120000.5"),  # time range
        ("fuzzymatching=true&PatientName=growth", "fuzzymatching=true&PatientName=growth"),
        (  # includefield: a comma list (encoded by dicomweb-client), repeated, keyword or tag
            "includefield=00081030%2C00080060&includefield=PatientAge",
            "includefield=00081030,00080060&includefield=PatientAge",
        ),
        ("includefield=all", "includefield=all"),
        ("limit=5&offset=10", "limit=5&offset=10"),
        ("PatientName=A*&PatientName=B*", "PatientName=A*&PatientName=B*"),  # repeated: as sent
        ("00100010=GROWTH*&0020000d=1.2.3", "00100010=GROWTH*&0020000d=1.2.3"),  # tag numbers
        ("StudyInstanceUID=1.2.3%2C1.2.4", "StudyInstanceUID=1.2.3,1.2.4"),  # UID list
        ("&PatientID=NN-1", "PatientID=NN-1"),  # an empty field carries nothing (Weasis)
        ("PatientID=", "PatientID="),  # universal matching
    ],
)
def test_radiologist_query_reaches_orthanc_with_its_meaning(
    client: Client, fake_orthanc: FakeOrthanc, sent: str, received: str
) -> None:
    assert accel(client, f"/api/pacs/dicom-web/studies?{sent}") == QIDO + received
    assert fake_orthanc.dialect_probes == 0  # nothing here depends on Orthanc's dialect


@pytest.mark.parametrize(
    ("sent", "verbatim", "decoded"),
    [
        # A space, as %20 or as "+" (form encoding): Orthanc 1.10 cannot be sent one.
        ("PatientName=GROWTH%5E8%20JR", None, "PatientName=GROWTH^8%20JR"),
        ("PatientName=GROWTH^8+JR", None, "PatientName=GROWTH^8%20JR"),
        ("PatientID=A%2BB", "PatientID=A+B", "PatientID=A%2BB"),  # a literal plus
        ("PatientID=50%25", "PatientID=50%", "PatientID=50%25"),  # a literal percent
        ("StudyInstanceUID=1.2%5C1.3", "StudyInstanceUID=1.2\\1.3", "StudyInstanceUID=1.2%5C1.3"),
        ("PatientName=%EC%9D%B4^%EC%A7%80", None, "PatientName=%EC%9D%B4^%EC%A7%80"),  # UTF-8
        ("PatientID=A%26B", None, None),  # "&" inside a value: never representable
    ],
)
def test_values_that_need_escaping_follow_orthancs_dialect(
    client: Client, fake_orthanc: FakeOrthanc, sent: str, verbatim: str | None, decoded: str | None
) -> None:
    for dialect, expected in ((Dialect.VERBATIM, verbatim), (Dialect.DECODED, decoded)):
        fake_orthanc.dialect = dialect
        lookup._dialects.clear()
        response = client.get(f"/api/pacs/dicom-web/studies?{sent}", **bearer(client, "admin"))  # type: ignore[arg-type]
        if expected is None:
            assert response.status_code == 501, (dialect, response.content)
        else:
            assert response["X-Accel-Redirect"] == QIDO + expected, dialect


def test_the_dialect_is_probed_once_and_only_when_needed(
    client: Client, fake_orthanc: FakeOrthanc
) -> None:
    fake_orthanc.dialect = Dialect.DECODED
    accel(client, "/api/pacs/dicom-web/studies?PatientName=A*")
    assert fake_orthanc.dialect_probes == 0
    accel(client, "/api/pacs/dicom-web/studies?PatientName=A+B")
    accel(client, "/api/pacs/dicom-web/studies?PatientName=C+D")
    assert fake_orthanc.dialect_probes == 1


@pytest.mark.parametrize(
    "sent",
    [
        "PatientName=%ZZ",  # malformed percent-encoding
        "PatientName=%FF",  # not UTF-8
        "PatientName=A%0AB",  # control character
        "patientname=x",  # keywords are spelt as PS3.6 spells them
        "NoSuchKeyword=1",
        "0010001=x",  # seven hex digits
        "PatientName",  # no "="
        "limit=-1",
        "offset=ten",
        "fuzzymatching=yes",
        "includefield=NotAnAttribute",
        "StudyDate=2025-01-01",
        "StudyDate=20250101-2026",
        "StudyTime=8am",
        "StudyInstanceUID=1.2.*",
    ],
)
def test_malformed_searches_are_refused(client: Client, sent: str) -> None:
    for user in ("radiologist", "clinician"):
        response = client.get(f"/api/pacs/dicom-web/studies?{sent}", **bearer(client, user))  # type: ignore[arg-type]
        assert response.status_code == 400, (user, sent, response.content)


def test_search_inside_a_study_passes_its_query(client: Client, fake_orthanc: FakeOrthanc) -> None:
    fake_orthanc.dialect = Dialect.DECODED
    path = f"/api/pacs/dicom-web/studies/{S1}/series?SeriesDescription=T1*+post&Modality=MR"
    # ...constrained to the study's own patient (another patient's study may reuse its UID)
    assert accel(client, path, "clinician") == (
        f"/internal-orthanc/dicom-web/studies/{S1}/series?SeriesDescription=T1*%20post&Modality=MR"
        "&PatientID=NN-DEMO-0001"
    )
    headers = bearer(client, "clinician")
    refused = client.get(f"/api/pacs/dicom-web/studies/{S1}/series?Modality=%ZZ", **headers)  # type: ignore[arg-type]
    assert refused.status_code == 400


def test_wado_uri_parameters_pass_as_sent(client: Client) -> None:
    base = f"requestType=WADO&studyUID={S1}&seriesUID={SE1}&objectUID={I1}"
    sent = f"{base}&contentType=image%2Fjpeg&rows=256&windowCenter=40&windowWidth=400"
    received = f"{base}&contentType=image/jpeg&rows=256&windowCenter=40&windowWidth=400"
    assert accel(client, f"/api/pacs/wado?{sent}") == f"/internal-orthanc/wado?{received}"
    # No contentType stays none: the standard's default is Orthanc's to apply.
    assert accel(client, f"/api/pacs/wado?{base}") == f"/internal-orthanc/wado?{base}"
    for bad in (
        f"{base}&contentType=image%2Fjpeg&contentType=image%2Fpng",  # repeated
        f"{base}&nosuch=1",  # not a WADO-URI parameter
        f"requestType=WADO&seriesUID={SE1}&objectUID={I1}",  # studyUID is required
        f"{base}&rows=-5",
        f"{base}&contentType=jpeg",
    ):
        response = client.get(f"/api/pacs/wado?{bad}", **bearer(client, "radiologist"))  # type: ignore[arg-type]
        assert response.status_code == 400, bad


def _row(patient_id: str, study_uid: str) -> dict[str, dict[str, object]]:
    return {
        "00100020": {"vr": "LO", "Value": [patient_id]},
        "0020000D": {"vr": "UI", "Value": [study_uid]},
    }


@pytest.mark.parametrize(
    ("sent", "received"),
    [
        ("PatientName=GROWTH*", "PatientName=GROWTH*&PatientID=NN-DEMO-0001"),
        (
            "PatientName=GROWTH%5E7&fuzzymatching=true",
            "PatientName=GROWTH^7&fuzzymatching=true&PatientID=NN-DEMO-0001",
        ),
        ("PatientID=", "PatientID=NN-DEMO-0001"),  # empty: the clinician's patients, not all
        ("PatientID=*", "PatientID=NN-DEMO-0001"),
        ("PatientID=NN-*", "PatientID=NN-DEMO-0001"),
        ("00100020=NN-OTHER,NN-DEMO-0001", "PatientID=NN-DEMO-0001"),  # never widened
        ("StudyInstanceUID=1.2.826.0.1.2", "StudyInstanceUID=1.2.826.0.1.2&PatientID=NN-DEMO-0001"),
        (
            "includefield=00081030%2C00080060",
            "includefield=00081030,00080060&PatientID=NN-DEMO-0001",
        ),
    ],
)
def test_clinician_search_keeps_its_meaning_inside_own_patients(
    client: Client, fake_orthanc: FakeOrthanc, sent: str, received: str
) -> None:
    fake_orthanc.qido_rows = [_row("NN-DEMO-0001", S1), _row("NN-OTHER", S2), _row("NN-X", S1)]
    response = client.get(f"/api/pacs/dicom-web/studies?{sent}", **bearer(client, "clinician"))  # type: ignore[arg-type]
    assert response.status_code == 200
    assert "X-Accel-Redirect" not in response
    assert fake_orthanc.qido_queries == [f"studies?{received}&limit=1001&offset=0"]
    # Rows are kept only for (PatientID, StudyInstanceUID) pairs of the clinician's studies.
    assert json.loads(response.content) == [_row("NN-DEMO-0001", S1)]


@pytest.mark.parametrize(
    "sent", ["PatientID=NN-OTHER", "00100020=NN-OTH*", "PatientID=nn-demo-0001"]
)
def test_clinician_asking_for_another_patient_asks_orthanc_nothing(
    client: Client, fake_orthanc: FakeOrthanc, sent: str
) -> None:
    fake_orthanc.qido_rows = [_row("NN-OTHER", S2)]
    response = client.get(f"/api/pacs/dicom-web/studies?{sent}", **bearer(client, "clinician"))  # type: ignore[arg-type]
    assert response.status_code == 200
    assert json.loads(response.content) == []
    assert fake_orthanc.qido_queries == []


def test_clinician_pages_are_exact_and_bounded(
    client: Client, fake_orthanc: FakeOrthanc, settings: Any
) -> None:
    uids = [f"1.2.826.0.1.1.{n}" for n in range(2, 9)]
    patient = Patient.objects.get(patient_id="NN-DEMO-0001")
    for uid in uids:
        Study.objects.create(
            study_uid=uid, claimed_uid=uid, orthanc_study_id=f"o-{uid}", patient=patient
        )
    hidden = _row("NN-DEMO-0001", "9.9.9")  # in Orthanc, not a study of the portal's
    fake_orthanc.qido_rows = [hidden, *(_row("NN-DEMO-0001", uid) for uid in uids)]
    headers = bearer(client, "clinician")
    page = client.get("/api/pacs/dicom-web/studies?limit=2&offset=1", **headers)  # type: ignore[arg-type]
    assert [r["0020000D"]["Value"][0] for r in json.loads(page.content)] == uids[1:3]
    assert fake_orthanc.qido_queries == [
        "studies?PatientID=NN-DEMO-0001&limit=4&offset=0",
        "studies?PatientID=NN-DEMO-0001&limit=1&offset=4",
    ]
    assert "Warning" not in page
    settings.CONFIG = replace(settings.CONFIG, qido_max_results=3)
    capped = client.get("/api/pacs/dicom-web/studies", **headers)  # type: ignore[arg-type]
    assert len(json.loads(capped.content)) == 3
    assert capped["Warning"].startswith("299 /api/pacs/dicom-web: The number of results exceeded")


@pytest.mark.parametrize(
    ("accept", "stored_answer"),
    [
        ("multipart/related; type=application/octet-stream; transfer-syntax=*", True),  # OHIF
        ('multipart/related; type="application/octet-stream"; transfer-syntax=*', True),
        (f"multipart/related; type=application/octet-stream; transfer-syntax={TS}", True),
        # No transfer-syntax means Explicit VR Little Endian: the stored syntax of this instance.
        ("multipart/related; type=application/octet-stream", True),
        ("multipart/related; type=image/jphc", False),  # HTJ2K: Orthanc's to transcode to
        ("", False),
        ("multipart/related; type=image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.50", False),
        (
            "multipart/related; type=application/octet-stream; transfer-syntax=1.2.840.10008.1.2",
            False,
        ),
    ],
)
def test_frames_in_another_syntax_are_orthancs_to_transcode(
    client: Client, fake_orthanc: FakeOrthanc, accept: str, stored_answer: bool
) -> None:
    path = f"/api/pacs/dicom-web/studies/{S1}/series/{SE1}/instances/{I1}/frames/1"
    response = client.get(path, HTTP_ACCEPT=accept, **bearer(client, "radiologist"))  # type: ignore[arg-type]
    assert response.status_code == 200
    redirect = response.get("X-Accel-Redirect", "")
    if stored_answer:
        assert not redirect.startswith("/internal-orthanc/dicom-web/"), redirect
    else:
        assert redirect == f"/internal-orthanc{path.removeprefix('/api/pacs')}"


def test_rendered_frames_and_bulk_data_pass_through(client: Client) -> None:
    instance = f"studies/{S1}/series/{SE1}/instances/{I1}"
    rendered = f"/api/pacs/dicom-web/{instance}/frames/1/rendered?window=127,256,linear"
    assert accel(client, rendered) == (
        f"/internal-orthanc/dicom-web/{instance}/frames/1/rendered?window=127,256,linear"
    )
    bulk = f"/api/pacs/dicom-web/{instance}/bulk/60031010/1/60031011"
    assert accel(client, bulk) == f"/internal-orthanc/dicom-web/{instance}/bulk/60031010/1/60031011"
    other = client.get(
        f"/api/pacs/dicom-web/studies/{S2}/series/{SE1}/instances/{I1}/bulk/7fe00010",
        **bearer(client, "clinician"),  # type: ignore[arg-type]
    )
    assert other.status_code == 403
