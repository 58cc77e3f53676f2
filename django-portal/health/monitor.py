"""Wiring: each process's last round of dependency probes, refreshed in the background.

``/api/health`` used to run every probe on every call: a Celery ping always waits its whole
timeout (1 s), and 32 concurrent calls started 32 rounds of probes that starved each other into
false failures. Now a call reads the last finished round and, when it is older than the interval,
starts one new round in a background thread (never two at once). Only a process's very first
call waits for a round, and so does a call that finds the last round older than ``max_age_s``
(a process nobody asked for a while: gunicorn spreads calls over workers, each with its own
monitor, so an idle worker's round is old without anything being wrong). Only when that wait
ends without a new round (its refresher hung) is the old round reported as failing, so a stuck
probe cannot keep reporting an old "ok".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from health.report import ProbeResult

log = logging.getLogger(__name__)

Results = dict[str, ProbeResult]


class ProbeMonitor:
    def __init__(
        self,
        run_round: Callable[[], Results],
        *,
        interval_s: float,
        max_age_s: float,
        first_wait_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._run_round = run_round
        self._interval_s = interval_s
        self._max_age_s = max_age_s
        self._first_wait_s = first_wait_s
        self._clock = clock
        self._lock = threading.Lock()
        self._round_done = threading.Event()
        self._results: Results | None = None
        self._finished_at = 0.0
        self._running = False

    def results(self) -> Results:
        """The last finished round; waits for a new one only when there is none or it is too old."""
        now = self._clock()
        with self._lock:
            too_old = self._results is None or now - self._finished_at > self._max_age_s
            start = not self._running and (
                self._results is None or now - self._finished_at >= self._interval_s
            )
            if start:
                self._running = True
                self._round_done.clear()
        if start:
            threading.Thread(target=self._refresh, name="health-probes", daemon=True).start()
        if too_old:
            self._round_done.wait(self._first_wait_s)
        with self._lock:
            results, finished_at = self._results, self._finished_at
        if results is None:
            return {"probes": ProbeResult(ok=False, detail="no probe round has finished yet")}
        age = self._clock() - finished_at
        if age > self._max_age_s:
            stale = ProbeResult(ok=False, detail=f"the last probe round is {age:.0f} s old")
            return {**results, "probes": stale}
        return results

    def _refresh(self) -> None:
        try:
            results = self._run_round()
        except Exception as exc:  # a round never kills the monitor; it reports what broke
            log.exception("health probe round failed")
            results = {"probes": ProbeResult(ok=False, detail=f"{type(exc).__name__}: {exc}")}
        with self._lock:
            self._results = results
            self._finished_at = self._clock()
            self._running = False
        self._round_done.set()
