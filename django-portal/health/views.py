"""Wiring: GET /api/health — each dependency's state; 200 when all are up, else 503.

Answers from this process's last probe round (health.monitor), so a call costs no probe.
Internal callers (PORTAL_INTERNAL_NETWORKS, by the trusted client address) get each check's
detail; everyone else gets only ``{"status": "ok"|"fail"}`` with the same code.
"""

from __future__ import annotations

from functools import cache

from celery import current_app
from common import metrics
from common.clients import is_internal
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from health import probes
from health.monitor import ProbeMonitor, Results
from health.report import summarise

# A round older than this is reported failing: its refresher is stuck.
_MAX_AGE_FLOOR_S = 30.0


def _ping(timeout: float) -> list[dict[str, object]]:
    return list(current_app.control.ping(timeout=timeout) or [])


def _probe_round() -> Results:
    config = settings.CONFIG
    return probes.run_all(
        {
            ("db",): probes.db,
            ("redis",): probes.redis_probe(config.redis_url),
            ("orthanc",): probes.http_probe(
                "orthanc",
                f"{config.orthanc_url}/system",
                (config.orthanc_username, config.orthanc_password),
            ),
            ("inference",): probes.http_probe("inference", f"{config.inference_url}/healthz"),
            tuple(probes.WORKERS): probes.celery_workers(_ping),
        }
    )


@cache
def monitor() -> ProbeMonitor:
    interval = settings.CONFIG.health_interval_seconds
    return ProbeMonitor(
        _probe_round, interval_s=interval, max_age_s=max(_MAX_AGE_FLOOR_S, 6 * interval)
    )


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    status, body = summarise(monitor().results())
    if not is_internal(request):
        body = {"status": body["status"]}
    return JsonResponse(body, status=status, headers={"Cache-Control": "no-store"})


@require_GET
def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    body, content_type = metrics.exposition(settings.CONFIG.redis_url)
    return HttpResponse(body, content_type=content_type)
