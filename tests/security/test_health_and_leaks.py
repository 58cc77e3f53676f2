"""Door 11: /api/health answers from cached probes (no probe run per call, no false 503 under
concurrent calls) and gives dependency details only to internal callers; the OpenAPI schema needs
a login; Orthanc's own error bodies (internal URIs) never reach a client."""

from __future__ import annotations

import dataclasses
import json
import threading
import time

import pytest
import requests
from django.conf import settings
from django.test import Client

from tests.support.hardened import Hardened, mr_file
from tests.support.portal import session_from


def test_concurrent_health_calls_answer_from_the_last_round_while_a_probe_hangs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In-process: the probe round is a stand-in whose second round hangs until released. After
    one good round, 32 concurrent calls must all answer 200 from it before the hung round is
    released, and the probes must not run once per call (before: every call ran its own round,
    waited on it, and answered 503 when it overran)."""
    from health import probes, views  # noqa: PLC0415 - after Django is configured
    from health.report import ProbeResult  # noqa: PLC0415

    fields = settings.CONFIG.__dataclass_fields__
    if "health_interval_seconds" in fields:  # every call finds the last round stale
        stale = dataclasses.replace(settings.CONFIG, health_interval_seconds=0.0)
        monkeypatch.setattr(settings, "CONFIG", stale)
    if hasattr(views, "monitor"):
        views.monitor.cache_clear()
    rounds: list[int] = []
    release = threading.Event()

    def probe_round(probe_set: object) -> dict[str, ProbeResult]:
        rounds.append(1)
        if len(rounds) > 1:
            release.wait(timeout=300)
        names = ("db", "redis", "orthanc", "inference", "portal-worker", "inference-worker")
        return {name: ProbeResult(ok=True, detail=f"round {len(rounds)}") for name in names}

    monkeypatch.setattr(probes, "run_all", probe_round)
    first = Client().get("/api/health")
    assert first.status_code == 200, first.content
    answers: list[tuple[int, str]] = []

    def call() -> None:
        response = Client().get("/api/health")
        answers.append((response.status_code, response.content.decode()))

    threads = [threading.Thread(target=call) for _ in range(32)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60  # a bound on waiting, not a measurement
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        answered_while_hung = len(answers)
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout=120)
        if hasattr(views, "monitor"):
            views.monitor.cache_clear()
    assert answered_while_hung == 32
    assert {code for code, _ in answers} == {200}
    assert all("round 1" in body for _, body in answers)
    assert len(rounds) == 2  # the first round, and one refresh for all 32 calls


def test_health_details_only_for_internal_callers(hardened: Hardened) -> None:
    inside = requests.get(f"{hardened.url}/api/health", timeout=60)
    assert "checks" in inside.json(), inside.text
    outside = session_from("127.0.0.70").get(
        f"{hardened.url}/api/health", headers={"X-Forwarded-For": "127.0.0.1"}, timeout=60
    )
    assert outside.status_code == inside.status_code
    assert set(outside.json()) == {"status"}, outside.text


def test_the_openapi_schema_needs_a_login(hardened: Hardened) -> None:
    anonymous = requests.get(f"{hardened.url}/api/schema/", timeout=60)
    assert anonymous.status_code == 401, anonymous.status_code
    signed_in = requests.get(
        f"{hardened.url}/api/schema/", headers=hardened.bearer("clinician"), timeout=60
    )
    assert signed_in.status_code == 200
    assert "openapi" in signed_in.text


LEAKS = ("OrthancError", "HttpError", '"Uri"', "/instances/", "/internal-orthanc", "Details")


def test_orthanc_error_bodies_never_reach_the_client(hardened: Hardened) -> None:
    study, data = mr_file()
    stored = hardened.upload([("e.dcm", data)], username="radiologist")
    assert stored.status_code == 200
    token = hardened.tokens("radiologist")["access"]
    auth = {"Authorization": f"Bearer {token}"}
    series = requests.get(
        f"{hardened.url}/api/pacs/dicom-web/studies/{study}/series", headers=auth, timeout=60
    ).json()
    series_uid = series[0]["0020000E"]["Value"][0]
    instances = requests.get(
        f"{hardened.url}/api/pacs/dicom-web/studies/{study}/series/{series_uid}/instances",
        headers=auth,
        timeout=60,
    ).json()
    sop = instances[0]["00080018"]["Value"][0]
    base = f"{hardened.url}/api/pacs/dicom-web/studies/{study}/series/{series_uid}/instances/{sop}"
    for path, accept in (
        (f"{base}/frames/7", "multipart/related; type=application/octet-stream; transfer-syntax=*"),
        (f"{base}/frames/7", 'multipart/related; type="application/octet-stream"'),
        (f"{base}/rendered", "image/gif"),
    ):
        answer = requests.get(path, headers={**auth, "Accept": accept}, timeout=60)
        assert answer.status_code >= 400, (path, answer.status_code)
        for leak in LEAKS:
            assert leak not in answer.text, (path, answer.status_code, answer.text[:400])
        json.loads(answer.text or "{}")  # a JSON body of our own, if any
