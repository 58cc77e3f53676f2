"""Adapter (prometheus-client, Redis): the portal's Prometheus metrics and their exposition.

Counters are per process; under gunicorn set PROMETHEUS_MULTIPROC_DIR (an empty folder per run,
shared by the workers) so /api/metrics adds every worker's counts up. The Celery queue lengths
are read from Redis at scrape time, so any process reports the same truth.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator

import redis
from neuronova_contracts import tasks
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

AUTHZ_DECISIONS = Counter(
    "neuronova_authz_decisions", "Image access decisions", ["decision"]
)  # decision: allow / deny
AUTHZ_SECONDS = Histogram(
    "neuronova_authz_seconds",
    "Time Django spends on one image request (authenticate, authorise, answer)",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
)
METADATA_CACHE = Counter(
    "neuronova_metadata_cache",
    "Series and study metadata answers from the portal's cache",
    ["result"],
)  # result: hit / miss (built from Orthanc, then kept)
LOGINS = Counter("neuronova_logins", "Login attempts", ["outcome"])  # success/failure/throttled
UPLOADS = Counter("neuronova_uploads", "Uploaded files by result", ["outcome"])
STOW_INSTANCES = Counter(
    "neuronova_stow_instances", "Instances sent by STOW-RS, by result", ["outcome"]
)  # outcome: stored / refused (a check failed) / failed (the archive)
AUDIT_WRITE_FAILURES = Counter(
    "neuronova_audit_write_failures", "Audit events that could not be written", ["action"]
)
QUEUES = (tasks.INFERENCE_QUEUE, tasks.PORTAL_QUEUE)


class QueueLengthCollector(Collector):
    def __init__(self, redis_url: str) -> None:
        self._redis_url = redis_url

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "neuronova_celery_queue_length", "Tasks waiting in a Celery queue", labels=["queue"]
        )
        client = redis.Redis.from_url(self._redis_url, socket_timeout=1, socket_connect_timeout=1)
        try:
            for queue in QUEUES:
                family.add_metric([queue], float(client.llen(queue)))
        except redis.RedisError as exc:
            log.warning("queue length unavailable: %s", exc)
            return
        finally:
            client.close()
        yield family


# Collectors that read shared state (the database) at scrape time, handed in by the apps that own
# that state (AppConfig.ready), so this module imports none of them. Those apps also register
# them on the default registry, which is what a single process exports.
_database_collectors: list[Callable[[], Collector]] = []


def add_database_collector(factory: Callable[[], Collector]) -> None:
    if factory not in _database_collectors:
        _database_collectors.append(factory)


def exposition(redis_url: str) -> tuple[bytes, str]:
    """The text exposition for /api/metrics (a fresh registry per scrape: no shared state)."""
    scrape = CollectorRegistry()
    scrape.register(QueueLengthCollector(redis_url))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(scrape)  # type: ignore[no-untyped-call]
        for factory in _database_collectors:
            scrape.register(factory())
        return generate_latest(scrape), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY) + generate_latest(scrape), CONTENT_TYPE_LATEST
