"""Integration: /api/health against the real Redis and a real (empty) database."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings as django_settings
from django.test import Client
from health import views


@pytest.fixture
def http_ok() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.django_db
def test_health_200_when_everything_answers(http_ok: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = django_settings.CONFIG
    redis_url = os.environ.get("NEURONOVA_REDIS_URL", "redis://127.0.0.1:6379/0")
    fields = {f: getattr(config, f) for f in config.__dataclass_fields__}
    fields.update(orthanc_url=http_ok, inference_url=http_ok, redis_url=redis_url)
    monkeypatch.setattr(django_settings, "CONFIG", type(config)(**fields))
    monkeypatch.setattr(
        views, "_ping", lambda _t: [{"portal@h": {"ok": "pong"}}, {"inference@g": {"ok": "pong"}}]
    )
    views.monitor.cache_clear()  # a fresh process: its first call runs a probe round
    response = Client().get("/api/health")
    assert response.status_code == 200, response.content
    body = json.loads(response.content)
    assert body["status"] == "ok"
    assert set(body["checks"]) == {
        "db",
        "redis",
        "orthanc",
        "inference",
        "portal-worker",
        "inference-worker",
    }
