"""Adapter (ORM, prometheus-client): scrape-time gauge of open StudyInstanceUID conflicts.

Read from the database at each scrape, so every process (gunicorn workers, the Celery worker
that mirrors studies) reports the same truth; the alert NeuroNovaStudyUidConflict fires on it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from django.db import DatabaseError
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector, CollectorRegistry

from clinical import selectors

log = logging.getLogger(__name__)


class StudyConflictCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            count = selectors.open_conflict_count()
        except DatabaseError:
            log.warning("study conflict metric unavailable: database error", exc_info=True)
            return
        yield GaugeMetricFamily(
            "neuronova_study_conflicts",
            "Studies stored under a StudyInstanceUID another patient's study owns, not reviewed",
            value=count,
        )

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return []  # collected lazily: no database access at registration


_registered: set[int] = set()


def register(registry: CollectorRegistry = REGISTRY) -> None:
    """Add the collector once per registry (AppConfig.ready may run more than once in tests)."""
    if id(registry) in _registered:
        return
    registry.register(StudyConflictCollector())
    _registered.add(id(registry))
