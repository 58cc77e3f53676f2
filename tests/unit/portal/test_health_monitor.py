"""Unit tests of the per-process probe monitor behind /api/health (a fake clock, real threads)."""

from __future__ import annotations

import threading

from health.monitor import ProbeMonitor
from health.report import ProbeResult


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _monitor(
    clock: Clock, release_after: int, gate: threading.Event, wait_s: float = 5
) -> ProbeMonitor:
    """A monitor whose round N reports 'round N'; rounds after `release_after` hang on `gate`."""
    calls = 0

    def run_round() -> dict[str, ProbeResult]:
        nonlocal calls
        calls += 1
        if calls > release_after:
            gate.wait(10)
        return {"db": ProbeResult(ok=True, detail=f"round {calls}")}

    return ProbeMonitor(run_round, interval_s=5, max_age_s=30, first_wait_s=wait_s, clock=clock)


def test_an_idle_process_answers_a_fresh_round_not_a_false_failure() -> None:
    """gunicorn spreads calls over workers: one nobody asked for a minute must not answer 503."""
    clock, gate = Clock(), threading.Event()
    monitor = _monitor(clock, release_after=1, gate=gate)
    assert monitor.results()["db"].detail == "round 1"
    clock.now += 60
    threading.Timer(0.3, gate.set).start()  # the new round takes a moment, as real probes do
    results = monitor.results()
    assert "probes" not in results, results
    assert results["db"].detail == "round 2"


def test_a_recent_round_is_answered_without_waiting_for_the_next() -> None:
    clock, gate = Clock(), threading.Event()
    monitor = _monitor(clock, release_after=1, gate=gate)
    assert monitor.results()["db"].detail == "round 1"
    clock.now += 10  # due for a refresh, not too old: the old round is answered at once
    assert monitor.results()["db"].detail == "round 1"
    gate.set()


def test_a_hung_refresher_is_reported_as_failing() -> None:
    clock, gate = Clock(), threading.Event()
    monitor = _monitor(clock, release_after=1, gate=gate, wait_s=0.2)
    monitor.results()
    clock.now += 60
    results = monitor.results()
    gate.set()
    assert results["probes"].ok is False
    assert "old" in results["probes"].detail
