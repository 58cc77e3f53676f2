"""Adapter: one short probe per dependency (db, Redis, Orthanc, inference, Celery workers).

Each probe touches exactly one external system, never raises, and answers within ~1 s.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import httpx
import redis
from django.db import connection

from health.report import ProbeResult, worker_results

TIMEOUT_S = 1.0
WORKERS = {"portal-worker": "portal@", "inference-worker": "inference@"}

Probe = Callable[[], dict[str, ProbeResult]]


def _guard(name: str, func: Callable[[], str]) -> dict[str, ProbeResult]:
    started = time.perf_counter()
    try:
        detail = func()
    except Exception as exc:  # noqa: BLE001 - a probe reports any failure, never raises
        return {name: ProbeResult(ok=False, detail=f"{type(exc).__name__}: {exc}"[:300])}
    ms = (time.perf_counter() - started) * 1000
    return {name: ProbeResult(ok=True, detail=f"{detail} ({ms:.0f} ms)")}


def db() -> dict[str, ProbeResult]:
    def check() -> str:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
            return connection.vendor
        finally:
            connection.close()  # probe runs in a pool thread: never leak its connection

    return _guard("db", check)


def redis_probe(url: str) -> Probe:
    def check() -> str:
        client = redis.Redis.from_url(
            url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S
        )
        try:
            client.ping()
        finally:
            client.close()
        return "PONG"

    return lambda: _guard("redis", check)


def http_probe(name: str, url: str, auth: tuple[str, str] | None = None) -> Probe:
    def check() -> str:
        response = httpx.get(url, auth=auth, timeout=TIMEOUT_S)
        response.raise_for_status()
        return f"HTTP {response.status_code}"

    return lambda: _guard(name, check)


def celery_workers(ping: Callable[[float], list[dict[str, Any]]]) -> Probe:
    def run() -> dict[str, ProbeResult]:
        try:
            replies = ping(TIMEOUT_S) or []
        except Exception as exc:  # noqa: BLE001
            failure = ProbeResult(ok=False, detail=f"{type(exc).__name__}: {exc}"[:300])
            return dict.fromkeys(WORKERS, failure)
        return worker_results(replies, WORKERS)

    return run


def run_all(probes: Mapping[tuple[str, ...], Probe]) -> dict[str, ProbeResult]:
    """Run every probe concurrently; one that overruns is reported failed under its names."""
    results: dict[str, ProbeResult] = {}
    pool = ThreadPoolExecutor(max_workers=len(probes), thread_name_prefix="health")
    futures = {pool.submit(probe): names for names, probe in probes.items()}
    done, pending = wait(futures, timeout=TIMEOUT_S * 1.5)
    for future in done:
        results.update(future.result())
    for future in pending:
        for name in futures[future]:
            results[name] = ProbeResult(ok=False, detail=f"no answer within {TIMEOUT_S * 1.5} s")
    pool.shutdown(wait=False, cancel_futures=True)
    return results
