"""Unit tests of /api/health: aggregation, worker naming, concurrency limits and the view."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from health import probes, views
from health.report import ProbeResult, summarise, worker_results
from prometheus_client.core import GaugeMetricFamily


def test_summarise_all_ok_is_200() -> None:
    status, body = summarise(
        {"db": ProbeResult(True, "sqlite"), "redis": ProbeResult(True, "PONG")}
    )
    assert status == 200
    assert body["status"] == "ok"
    assert body["checks"]["db"] == {"ok": True, "detail": "sqlite"}
    assert "failing" not in body


def test_summarise_names_failing_checks_with_503() -> None:
    status, body = summarise(
        {
            "db": ProbeResult(True, "x"),
            "orthanc": ProbeResult(False, "refused"),
            "inference": ProbeResult(False, "timeout"),
        }
    )
    assert status == 503
    assert body["failing"] == ["inference", "orthanc"]
    assert body["checks"]["orthanc"]["ok"] is False


def test_worker_results_need_both_named_workers() -> None:
    replies = [{"portal@host1": {"ok": "pong"}}, {"celery@other": {"ok": "pong"}}]
    results = worker_results(replies, probes.WORKERS)
    assert results["portal-worker"].ok
    assert "portal@host1" in results["portal-worker"].detail
    assert not results["inference-worker"].ok
    both = worker_results(
        [{"portal@a": {"ok": "pong"}}, {"inference@b": {"ok": "pong"}}], probes.WORKERS
    )
    assert all(r.ok for r in both.values())


def test_run_all_reports_a_hung_probe_as_failed_without_waiting_for_it() -> None:
    release = threading.Event()

    def hung() -> dict[str, ProbeResult]:
        release.wait(10)
        return {"slow": ProbeResult(True, "late")}

    try:
        results = probes.run_all(
            {("slow",): hung, ("fast",): lambda: {"fast": ProbeResult(True, "ok")}}
        )
    finally:
        release.set()
    assert results["fast"].ok
    assert not results["slow"].ok
    assert "no answer" in results["slow"].detail


def test_celery_probe_reports_broker_errors_for_both_workers() -> None:
    def broken(_timeout: float) -> list[dict[str, object]]:
        raise ConnectionError("broker down")

    results = probes.celery_workers(broken)()
    assert set(results) == {"portal-worker", "inference-worker"}
    assert not any(r.ok for r in results.values())
    assert "broker down" in results["portal-worker"].detail


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def http_ok() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path in {"/system", "/healthz"} else 404)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_probe_ok_and_refused(http_ok: str) -> None:
    assert probes.http_probe("inference", f"{http_ok}/healthz")()["inference"].ok
    assert not probes.http_probe("inference", f"{http_ok}/nothing")()["inference"].ok
    refused = probes.http_probe("orthanc", f"http://127.0.0.1:{_closed_port()}/system")()
    assert not refused["orthanc"].ok


def test_redis_probe_against_closed_port_fails_fast() -> None:
    started = time.monotonic()
    result = probes.redis_probe(f"redis://127.0.0.1:{_closed_port()}/0")()["redis"]
    assert not result.ok
    assert time.monotonic() - started < 5  # bounded by the probe's own timeout, not a hang


@pytest.mark.django_db
def test_view_503_names_failing_dependencies(http_ok: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = django_settings.CONFIG
    monkeypatch.setattr(
        django_settings,
        "CONFIG",
        type(config)(
            **{
                **{f: getattr(config, f) for f in config.__dataclass_fields__},
                "orthanc_url": http_ok,
                "inference_url": f"http://127.0.0.1:{_closed_port()}",
                "redis_url": f"redis://127.0.0.1:{_closed_port()}/0",
            }
        ),
    )
    monkeypatch.setattr(views, "_ping", lambda _t: [{"portal@h": {"ok": "pong"}}])
    views.monitor.cache_clear()  # a fresh process: its first call runs a probe round
    response = Client().get("/api/health")
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["failing"] == ["inference", "inference-worker", "redis"]
    assert body["checks"]["db"]["ok"] is True
    assert body["checks"]["orthanc"]["ok"] is True
    assert body["checks"]["portal-worker"]["ok"] is True


@pytest.mark.django_db
def test_metrics_in_multiprocess_mode_include_fhir_and_queue_collectors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from common import metrics  # noqa: PLC0415

    def fake_queues(_self: object) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("neuronova_celery_queue_length", "x", labels=["queue"])
        family.add_metric(["inference"], 3.0)
        yield family

    monkeypatch.setattr(metrics.QueueLengthCollector, "collect", fake_queues)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    body, _ = metrics.exposition("redis://unused")
    text = body.decode()
    assert 'neuronova_celery_queue_length{queue="inference"} 3.0' in text
    assert "neuronova_fhir_sync_studies" in text
