"""Adapter (ORM → Prometheus): FHIR sync metrics computed from the sync-state table at scrape time.

Computed from the database rather than counted in the Celery worker, so whichever process
serves /api/metrics (gunicorn, several workers) reports the same truth without a multiprocess
registry. Names (see docs/observability.md):

    neuronova_fhir_sync_resources_sent_total   resources created or updated on the FHIR server
    neuronova_fhir_sync_failures_total         failed sync attempts (transient or refused)
    neuronova_fhir_sync_studies{status}        studies per state: pending, synced, failed
    neuronova_fhir_sync_lag_seconds            age of the oldest change not yet on the server
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.db import DatabaseError
from django.db.models import Count, Min, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector, CollectorRegistry

from fhir_sync.models import FhirSyncState, SyncStatus

logger = logging.getLogger(__name__)


def lag_seconds(*, now: datetime, oldest_request: datetime | None) -> float:
    """Pure: how long the oldest unsynced change has waited (0 when nothing waits)."""
    if oldest_request is None:
        return 0.0
    return max(0.0, (now - oldest_request).total_seconds())


class FhirSyncCollector(Collector):
    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        try:
            totals = FhirSyncState.objects.aggregate(
                sent=Sum("resources_sent"), failed=Sum("failures")
            )
            counts = {
                row["status"]: row["n"]
                for row in FhirSyncState.objects.values("status").annotate(n=Count("id"))
            }
            oldest = FhirSyncState.objects.exclude(status=SyncStatus.SYNCED).aggregate(
                oldest=Min("requested_at")
            )["oldest"]
        except DatabaseError:
            logger.warning("FHIR sync metrics unavailable: database error", exc_info=True)
            return
        yield CounterMetricFamily(
            "neuronova_fhir_sync_resources_sent",
            "FHIR resources created or updated on the EMR's FHIR server",
            value=totals["sent"] or 0,
        )
        yield CounterMetricFamily(
            "neuronova_fhir_sync_failures",
            "Failed FHIR sync attempts (transient errors and refusals)",
            value=totals["failed"] or 0,
        )
        studies = GaugeMetricFamily(
            "neuronova_fhir_sync_studies", "Studies per FHIR sync state", labels=["status"]
        )
        for status in SyncStatus.values:
            studies.add_metric([status], counts.get(status, 0))
        yield studies
        yield GaugeMetricFamily(
            "neuronova_fhir_sync_lag_seconds",
            "Age of the oldest study change not yet on the FHIR server",
            value=lag_seconds(now=timezone.now(), oldest_request=oldest),
        )

    def describe(self) -> Iterable[CounterMetricFamily | GaugeMetricFamily]:
        return []  # collected lazily: no database access at registration


_registered: set[int] = set()


def register(registry: CollectorRegistry = REGISTRY) -> None:
    """Add the collector once per registry (AppConfig.ready may run more than once in tests)."""
    if id(registry) in _registered:
        return
    registry.register(FhirSyncCollector())
    _registered.add(id(registry))
