"""Wiring: GET /api/health — each dependency's state; 200 when all are up, else 503."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from neuronova_portal.celery import app as celery_app

from health import metrics, probes
from health.report import summarise


def _ping(timeout: float) -> list[dict[str, object]]:
    return list(celery_app.control.ping(timeout=timeout) or [])


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    config = settings.CONFIG
    results = probes.run_all(
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
    status, body = summarise(results)
    return JsonResponse(body, status=status)


@require_GET
def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    body, content_type = metrics.exposition(settings.CONFIG.redis_url)
    return HttpResponse(body, content_type=content_type)
