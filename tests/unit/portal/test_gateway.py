"""Unit tests of the image gateway and API authorisation through Django's test client.

Orthanc is a fake here; the same matrix runs through the real nginx → Django → Orthanc chain in
tests/integration/portal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from accounts import services as account_services
from accounts.models import User
from accounts.throttling import LoginRateThrottle
from audit.models import AuditEvent
from authz.identity import orthanc_id
from clinical.models import Patient, Study
from common.ttl_cache import TTLCache
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from prometheus_client import REGISTRY
from rest_framework_simplejwt.tokens import AccessToken

from tests.support.portal import DEV_PASSWORDS, bad_tokens
from tests.support.portal_fakes import FakeOrthanc, login

pytestmark = pytest.mark.django_db

S1, SE1, I1 = "1.2.826.0.1.1", "1.2.826.0.1.1.1", "1.2.826.0.1.1.1.1"  # NN-DEMO-0001 (clinician)
S2, SE2, I2 = "1.2.826.0.1.2", "1.2.826.0.1.2.1", "1.2.826.0.1.2.1.1"  # NN-OTHER (clinician2)
P1, P2 = "NN-DEMO-0001", "NN-OTHER"
HTJ2K = "1.2.840.10008.1.2.4.202"
CORNERSTONE_ACCEPT = "multipart/related; type=application/octet-stream; transfer-syntax=*"


@dataclass
class World:
    client: Client
    orthanc: FakeOrthanc

    def login(self, username: str) -> dict[str, str]:
        return login(self.client, username)

    def get(self, path: str, token: str | None, **headers: str) -> int:
        extra = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        extra.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
        return int(self.client.get(path, **extra).status_code)  # type: ignore[arg-type]


@pytest.fixture
def world(fake_orthanc: FakeOrthanc) -> World:
    cache.clear()
    account_services.seed_dev_users()
    account_services.assign_patient(
        user=User.objects.get(username="clinician2"), patient_id="NN-OTHER"
    )
    for patient_id, study_uid in (("NN-DEMO-0001", S1), ("NN-OTHER", S2)):
        patient = Patient.objects.create(patient_id=patient_id, patient_name="Test^Patient")
        Study.objects.create(
            study_uid=study_uid,
            claimed_uid=study_uid,
            orthanc_study_id=orthanc_id(patient_id, study_uid),
            patient=patient,
        )
    fake_orthanc.add(patient_id="NN-DEMO-0001", study_uid=S1, series_uid=SE1, sop_uid=I1)
    fake_orthanc.add(
        patient_id="NN-OTHER",
        study_uid=S2,
        series_uid=SE2,
        sop_uid=I2,
        transfer_syntax="1.2.840.10008.1.2.1",
    )
    return World(client=Client(), orthanc=fake_orthanc)


INST_1 = orthanc_id("NN-DEMO-0001", S1, SE1, I1)


def frames(study: str, series: str, sop: str, n: str = "1") -> str:
    return f"/api/pacs/dicom-web/studies/{study}/series/{series}/instances/{sop}/frames/{n}"


ROUTES_S1 = [
    "/api/pacs/dicom-web/studies",
    f"/api/pacs/dicom-web/studies/{S1}/series",
    f"/api/pacs/dicom-web/studies/{S1}/series/{SE1}/metadata",
    frames(S1, SE1, I1),
    f"/api/pacs/wado?requestType=WADO&studyUID={S1}&seriesUID={SE1}&objectUID={I1}",
    f"/api/pacs/dicom-web/studies/{S1}/series/{SE1}/instances/{I1}/thumbnail",
    f"/api/studies/{S1}/report",
    "/api/studies",
]


def test_every_bad_token_is_refused_everywhere(world: World) -> None:
    pair = world.login("radiologist")
    tokens = bad_tokens(
        valid_access=pair["access"],
        valid_refresh=pair["refresh"],
        signing_key=settings.SIMPLE_JWT["SIGNING_KEY"],
    )
    tokens["none"] = ""
    for route in ROUTES_S1:
        assert world.get(route, pair["access"]) == 200, route
        for name, token in tokens.items():
            assert world.get(route, token) == 401, (route, name)
    upload = world.client.post(
        "/api/pacs/upload", {}, HTTP_AUTHORIZATION=f"Bearer {tokens['alg-none']}"
    )
    assert upload.status_code == 401


def test_logout_revokes_access_and_refresh(world: World) -> None:
    pair = world.login("radiologist")
    assert world.get(frames(S1, SE1, I1), pair["access"]) == 200
    out = world.client.post(
        "/api/auth/logout",
        {"refresh": pair["refresh"]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {pair['access']}",
    )
    assert out.status_code == 204
    for route in ROUTES_S1:
        assert world.get(route, pair["access"]) == 401, route
    again = world.client.post(
        "/api/auth/refresh", {"refresh": pair["refresh"]}, content_type="application/json"
    )
    assert again.status_code == 401


def test_a_logout_in_another_process_reaches_api_and_images_within_the_recheck_time(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One verifier, one rule: both trust "not revoked" for the recheck time, then refuse."""
    from accounts import tokens  # noqa: PLC0415

    clock = [1000.0]
    monkeypatch.setattr(tokens, "_not_revoked", TTLCache(1.0, clock=lambda: clock[0]))
    pair = world.login("radiologist")
    assert world.get(frames(S1, SE1, I1), pair["access"]) == 200
    jti = AccessToken(pair["access"])["jti"]  # type: ignore[arg-type]
    cache.set(f"{tokens.REVOKED_PREFIX}{jti}", 1)  # what a logout in another worker writes
    assert world.get(frames(S1, SE1, I1), pair["access"]) == 200  # "not revoked" still trusted
    assert world.get(f"/api/studies/{S1}/report", pair["access"]) == 200  # the same rule
    clock[0] += settings.CONFIG.revocation_recheck_seconds + 0.01
    assert world.get(frames(S1, SE1, I1), pair["access"]) == 401
    assert world.get(f"/api/studies/{S1}/report", pair["access"]) == 401


def test_refresh_rotates_and_blacklists_the_old_token(world: World) -> None:
    pair = world.login("clinician")
    first = world.client.post(
        "/api/auth/refresh", {"refresh": pair["refresh"]}, content_type="application/json"
    )
    assert first.status_code == 200
    rotated = json.loads(first.content)
    assert rotated["refresh"] != pair["refresh"]
    assert world.get("/api/auth/me", rotated["access"]) == 200
    replay = world.client.post(
        "/api/auth/refresh", {"refresh": pair["refresh"]}, content_type="application/json"
    )
    assert replay.status_code == 401


def test_clinician_sees_only_assigned_patients(world: World) -> None:
    mine = world.login("clinician")["access"]
    assert world.get(frames(S1, SE1, I1), mine, accept=CORNERSTONE_ACCEPT) == 200
    assert world.get(f"/api/studies/{S1}", mine) == 200
    for route in (
        frames(S2, SE2, I2),
        f"/api/pacs/dicom-web/studies/{S2}/series/{SE2}/metadata",
        f"/api/pacs/dicom-web/studies/{S2}/series",
        f"/api/pacs/wado?requestType=WADO&studyUID={S2}&seriesUID={SE2}&objectUID={I2}",
        f"/api/studies/{S2}",
        f"/api/studies/{S2}/report",
        f"/api/studies/{S2}/jobs",
    ):
        assert world.get(route, mine) == 403, route
    listed = json.loads(
        world.client.get("/api/studies", HTTP_AUTHORIZATION=f"Bearer {mine}").content
    )
    assert [row["study_uid"] for row in listed["results"]] == [S1]
    world.orthanc.qido_rows = [
        {"0020000D": {"vr": "UI", "Value": [S1]}, "00100020": {"vr": "LO", "Value": ["NN-X"]}},
        {"0020000D": {"vr": "UI", "Value": [S1]}, "00100020": {"vr": "LO", "Value": [P1]}},
        {"0020000D": {"vr": "UI", "Value": [S2]}, "00100020": {"vr": "LO", "Value": [P2]}},
        {"0020000D": {"vr": "UI", "Value": [S1]}},
    ]
    qido = world.client.get("/api/pacs/dicom-web/studies", HTTP_AUTHORIZATION=f"Bearer {mine}")
    assert qido.status_code == 200
    assert "X-Accel-Redirect" not in qido
    # only the row of the study the assigned patient owns, not a study of another patient
    # (NN-X) that reuses its UID, nor a row that does not say whose it is
    assert json.loads(qido.content) == [world.orthanc.qido_rows[1]]
    # Only the assigned patient with studies in the portal; the page is bounded.
    assert world.orthanc.qido_queries == ["studies?PatientID=NN-DEMO-0001&limit=1001&offset=0"]


def test_radiologist_qido_goes_straight_to_orthanc(world: World) -> None:
    token = world.login("radiologist")["access"]
    response = world.client.get(
        "/api/pacs/dicom-web/studies?PatientID=NN*&limit=5", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 200
    assert response.content == b""
    assert (
        response["X-Accel-Redirect"] == "/internal-orthanc/dicom-web/studies?PatientID=NN*&limit=5"
    )


def test_cornerstone_frame_is_x_accel_to_raw_route_with_stored_transfer_syntax(
    world: World,
) -> None:
    token = world.login("radiologist")["access"]
    response = world.client.get(
        frames(S1, SE1, I1, "2"),
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_ACCEPT=CORNERSTONE_ACCEPT,
    )
    assert response.status_code == 200
    # RPCL HTJ2K: the location where nginx serves byte ranges; labelled as PS3.18 names it.
    assert response["X-Accel-Redirect"] == (
        f"/internal-orthanc-ranges/instances/{INST_1}/frames/1/raw"
    )
    assert response["Content-Type"] == f"image/jphc; transfer-syntax={HTJ2K}"
    assert response.content == b""


def test_image_routes_take_the_short_way_other_routes_the_full_middleware(world: World) -> None:
    token = world.login("radiologist")["access"]
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    image = world.client.get(frames(S1, SE1, I1), HTTP_ACCEPT=CORNERSTONE_ACCEPT, **bearer)  # type: ignore[arg-type]
    assert image.status_code == 200
    assert "X-Accel-Redirect" in image
    assert image["Content-Length"] == "0"  # no chunked framing towards nginx
    # Neither the session nor the auth middleware ran for the image request…
    assert not hasattr(image.wsgi_request, "session")
    assert not hasattr(image.wsgi_request, "user")
    # …while the reports API still goes through the whole chain.
    api = world.client.get("/api/studies", **bearer)  # type: ignore[arg-type]
    assert api.status_code == 200
    assert hasattr(api.wsgi_request, "session")
    # The short way keeps the Host check (ALLOWED_HOSTS) of the normal chain.
    for path in (frames(S1, SE1, I1), f"/api/pacs/wado?requestType=WADO&studyUID={S1}"):
        evil = world.client.get(path, HTTP_HOST="evil.example", **bearer)  # type: ignore[arg-type]
        assert evil.status_code == 400, path
        assert "X-Accel-Redirect" not in evil


def test_thumbnails_are_the_scaled_preview_of_a_representative_instance(
    world: World,
) -> None:
    def add(series: str, sop: str, modality: str = "MR") -> str:
        return world.orthanc.add(
            patient_id="NN-DEMO-0001",
            study_uid=S1,
            series_uid=series,
            sop_uid=sop,
            modality=modality,
        )

    # The SEG series is filed first: the study's thumbnail passes over it.
    world.orthanc.files = {}
    add("1.2.9", "1.2.9.1", "SEG")
    inst_1 = add(SE1, I1)
    inst_1b = add(SE1, "1.2.826.0.1.1.1.2")
    add(SE1, "1.2.826.0.1.1.1.3")
    token = world.login("clinician")["access"]
    base = f"/api/pacs/dicom-web/studies/{S1}"
    expected = {
        f"{base}/series/{SE1}/instances/{I1}/thumbnail": inst_1,
        f"{base}/series/{SE1}/thumbnail": inst_1b,  # the middle one
        f"{base}/thumbnail": inst_1b,  # the SEG series is passed over
        f"{base}/thumbnail?viewport=64,48": inst_1b,
    }
    for path, rendered_id in expected.items():
        response = world.client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 200, path
        size = "width=64&height=48" if "viewport" in path else "width=128&height=128"
        assert response["X-Accel-Redirect"] == (
            f"/internal-orthanc-thumbnail/instances/{rendered_id}/preview?{size}"
        )
        assert "Content-Type" not in response  # the PNG/JPEG's own type comes through
    refused = {
        f"{base}/thumbnail?viewport=0,10": 400,
        f"{base}/thumbnail?viewport=a,b": 400,
        f"/api/pacs/dicom-web/studies/{S2}/thumbnail": 403,  # clinician2's patient
        f"{base}/series/{SE2}/thumbnail": 404,  # a series of another study
    }
    for path, status in refused.items():
        response = world.client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == status, path
        assert "X-Accel-Redirect" not in response


def test_dicomweb_client_frames_get_a_real_multipart_answer(world: World) -> None:
    token = world.login("radiologist")["access"]
    response = world.client.get(
        frames(S1, SE1, I1, "1,2"),
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_ACCEPT='multipart/related; type="application/octet-stream"; transfer-syntax=*',
    )
    assert response.status_code == 200
    assert "X-Accel-Redirect" not in response
    content_type = response["Content-Type"]
    assert content_type.startswith(f'multipart/related; type="image/jphc"; transfer-syntax={HTJ2K}')
    boundary = content_type.rsplit("boundary=", 1)[1]
    parts = response.content.split(f"--{boundary}".encode())
    bodies = [p.split(b"\r\n\r\n", 1)[1][:-2] for p in parts[1:-1]]
    assert all(
        f"Content-Type: image/jphc; transfer-syntax={HTJ2K}".encode() in p for p in parts[1:-1]
    )
    assert bodies == [f"{INST_1}#0".encode(), f"{INST_1}#1".encode()]


def test_path_tricks_are_400_or_404_and_never_redirect(world: World) -> None:
    token = world.login("radiologist")["access"]
    for path in (
        "/api/pacs/dicom-web/studies/1.2/../../../system",
        "/api/pacs/dicom-web/studies/1.2/%2e%2e/%2e%2e/system",
        "/api/pacs/dicom-web/studies//1.2",
        "/api/pacs/dicom-web/studies/1.2%2Fseries",
        "/api/pacs/dicom-web/studies/1.2%0d%0aX-Evil:%201",
        "/api/pacs/dicom-web/tools/find",
        f"/api/pacs/dicom-web/studies/{S1}/series/{SE2}/metadata",  # series of another study
        frames(S1, SE2, I2),  # instance of another study under S1
        f"/api/pacs/wado?requestType=WADO&studyUID={S1}&seriesUID={SE2}&objectUID={I2}",
        "/api/pacs/dicom-web/studies?bad%0akey=1",
    ):
        response = world.client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}", RAW_URI=path)
        assert response.status_code in (400, 404), (path, response.status_code)
        assert "X-Accel-Redirect" not in response, path


def test_cookie_login_needs_csrf_for_unsafe_methods(world: World) -> None:
    browser = Client(enforce_csrf_checks=True)
    login = browser.post(
        "/api/auth/login",
        {"username": "radiologist", "password": DEV_PASSWORDS["radiologist"]},
        content_type="application/json",
    )
    assert login.status_code == 200
    assert json.loads(login.content) == {"username": "radiologist", "role": "radiologist"}
    access_cookie = login.cookies["nn_access"]
    assert access_cookie["httponly"]
    assert access_cookie["samesite"] == "Strict"
    assert browser.get(frames(S1, SE1, I1), HTTP_ACCEPT=CORNERSTONE_ACCEPT).status_code == 200
    assert browser.get("/api/auth/me").status_code == 200
    no_csrf = browser.post(f"/api/studies/{S1}/reanalyze")
    assert no_csrf.status_code == 403
    csrf = browser.cookies["csrftoken"].value
    with_csrf = browser.post(f"/api/studies/{S1}/reanalyze", HTTP_X_CSRFTOKEN=csrf)
    assert with_csrf.status_code == 202, with_csrf.content
    assert world.orthanc.reanalysed == [orthanc_id("NN-DEMO-0001", S1)]


def test_login_is_throttled(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LoginRateThrottle, "THROTTLE_RATES", {"login": "3/min"})

    def attempt(username: str, password: str = "wrong") -> int:
        return int(
            world.client.post(
                "/api/auth/token",
                {"username": username, "password": password},
                content_type="application/json",
            ).status_code
        )

    assert [attempt("clinician") for _ in range(5)] == [401, 401, 401, 429, 429]
    # the same address may still log in as someone else (a ward behind one NAT)
    assert attempt("radiologist", DEV_PASSWORDS["radiologist"]) == 200


def test_access_decisions_and_logins_are_audited(world: World) -> None:
    token = world.login("clinician")["access"]
    world.get(frames(S2, SE2, I2), token)
    world.get(frames(S1, SE1, I1), token)
    world.get(frames(S1, SE1, I1), token)  # cached decision: not audited twice
    events = list(AuditEvent.objects.order_by("id").values_list("action", "allowed", "study_uid"))
    assert events == [("login", True, ""), ("image-access", False, S2), ("image-access", True, S1)]
    admin = world.login("admin")["access"]
    export = world.client.get("/api/audit/export", HTTP_AUTHORIZATION=f"Bearer {admin}")
    assert export.status_code == 200
    assert export.content.decode().splitlines()[0].startswith("at,username")
    assert world.get("/api/audit/export", token) == 403


def test_metrics_count_decisions_logins_and_queue_lengths(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from common import metrics  # noqa: PLC0415

    monkeypatch.setattr(metrics.QueueLengthCollector, "collect", lambda _self: iter(()))

    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    allow, deny = sample(ALLOW, decision="allow"), sample(ALLOW, decision="deny")
    logins = sample("neuronova_logins_total", outcome="success")
    token = world.login("clinician")["access"]
    world.get(frames(S1, SE1, I1), token)
    world.get(frames(S2, SE2, I2), token)
    world.get(frames(S2, SE2, I2), None)
    assert sample(ALLOW, decision="allow") == allow + 1
    assert sample(ALLOW, decision="deny") == deny + 2
    assert sample("neuronova_logins_total", outcome="success") == logins + 1
    body = world.client.get("/api/metrics").content.decode()
    assert "neuronova_authz_seconds_bucket" in body
    assert "neuronova_authz_decisions_total" in body


ALLOW = "neuronova_authz_decisions_total"
