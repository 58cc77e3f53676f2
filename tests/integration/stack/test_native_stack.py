"""The native stack for real (`python -m stack up` on spare ports)."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from typing import Any

import pytest
import requests

from tests.support.stack import RunningStack

SERVICES = ("db", "redis", "orthanc", "inference", "portal-worker", "inference-worker")


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _wait_health(stack: RunningStack, want: int, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    code, body = stack.health()
    while code != want and time.monotonic() < deadline:
        time.sleep(1)
        code, body = stack.health()
    assert code == want, body
    return body


def _failing(body: dict[str, Any]) -> list[str]:
    return [name for name, state in body.get("checks", {}).items() if not state["ok"]]


def test_health_reports_every_dependency_up(stack: RunningStack) -> None:
    code, body = stack.health()
    assert code == 200, body
    checks = body["checks"]
    for name in SERVICES:
        assert checks[name]["ok"] is True, (name, checks[name])


@pytest.mark.parametrize("program", ["inference-worker", "inference", "portal-worker"])
def test_stopping_a_service_turns_health_503_naming_it(stack: RunningStack, program: str) -> None:
    """Health is each gunicorn worker's last probe round (refreshed every few seconds), so a
    worker may still answer an earlier round for a moment: wait until the answer names exactly
    the stopped program, and fail if it never does or names anything else at the end."""
    stack.supervisor.stop_program(program)
    try:
        deadline = time.monotonic() + 90
        code, body = stack.health()
        while _failing(body) != [program] and time.monotonic() < deadline:
            time.sleep(1)
            code, body = stack.health()
        assert code == 503, body
        assert _failing(body) == [program], body
    finally:
        stack.supervisor.start_program(program)
    _wait_health(stack, 200)


def test_internal_orthanc_route_is_not_public(stack: RunningStack) -> None:
    for path in (
        "/internal-orthanc/system",
        "/internal-orthanc-raw/system",
        "/internal-orthanc/instances",
    ):
        code, _, body = _get(stack.url + path)
        assert code == 404, (path, code)
        assert b"Orthanc" not in body


def test_orthanc_itself_requires_credentials(stack: RunningStack) -> None:
    code, _, _ = _get(stack.orthanc_url + "/system")
    assert code == 401


def test_orthanc_runs_the_htj2k_codec_plugin(stack: RunningStack) -> None:
    """Bootstrap built the native codec (orthanc-plugins/htj2k-codec) and Orthanc loaded it."""
    answer = requests.get(f"{stack.orthanc_url}/plugins", auth=stack.orthanc_auth, timeout=10)
    assert "neuronova-htj2k" in answer.json()


def test_security_headers_on_every_door(stack: RunningStack) -> None:
    for path in ("/", "/api/health", "/pacs-viewer/"):
        _, headers, _ = _get(stack.url + path)
        assert headers.get("X-Content-Type-Options") == "nosniff", path
        assert headers.get("Referrer-Policy") == "no-referrer", path
        assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", ""), path
        assert "Server" not in headers or "nginx/" not in headers["Server"], path


def test_front_ends_are_served(stack: RunningStack) -> None:
    for path in ("/", "/worklist/deep/link", "/pacs-viewer/", "/pacs-viewer/viewer?x=1"):
        code, headers, body = _get(stack.url + path)
        assert code == 200, path
        assert headers["Content-Type"].startswith("text/html"), path
        assert b"<html" in body.lower() or b"<!doctype html" in body.lower(), path
        assert "no-cache" in headers.get("Cache-Control", ""), path


def test_django_admin_static_files_are_served_by_nginx(stack: RunningStack) -> None:
    code, headers, body = _get(stack.url + "/api/static/admin/css/base.css")
    assert code == 200
    assert headers["Content-Type"].startswith("text/css")
    assert b"{" in body
    assert headers.get("X-Content-Type-Options") == "nosniff"  # `expires` kept the headers
    assert "max-age=3600" in headers.get("Cache-Control", "")
    assert _get(stack.url + "/api/static/../portal/db.sqlite3")[0] in (400, 403, 404)


def test_second_up_changes_nothing(stack: RunningStack) -> None:
    before = stack.supervisor.status_text()
    result = stack.cli("up", "--timeout", "120")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rendered" not in result.stdout
    assert "no program changed" in result.stdout
    pids_before = {line.split("pid ")[1].split(",")[0] for line in before.splitlines()}
    pids_after = {
        line.split("pid ")[1].split(",")[0] for line in stack.supervisor.status_text().splitlines()
    }
    assert pids_before == pids_after
