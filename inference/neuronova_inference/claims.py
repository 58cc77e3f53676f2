"""adapter (Redis): one execution of a job at a time, and none once it has ended.

The plugin publishes a job at least once (its outbox is marked sent only after Redis took the
message, so a leader dying in between makes the next leader publish it again), Celery delivers
it at least once (a killed worker's message comes back after the visibility timeout). Workers
make that exactly one run with two keys in the broker's Redis, per ``job_id``:

- ``neuronova:job:<id>:lease``: the worker running it, set with NX and an expiry of ``lease_s``,
  renewed by a heartbeat while the job runs; a killed worker's lease simply expires.
- ``neuronova:job:<id>:done``: the final state, kept ``done_ttl_s`` (default 30 days); a
  delivery that finds it is a duplicate and is dropped without an event.

A delivery that finds a live lease is a duplicate of a job running elsewhere. It is not dropped
(the other worker may still die) but sent again ``lease_s`` later, when either ``done`` exists
or the lease has expired and it runs.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum

import redis

# Delete / extend a lease only while it is still ours (a slow worker must not end another's).
_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)
_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('expire', KEYS[1], ARGV[2]) end return 0"
)
_FINISH = (
    "redis.call('set', KEYS[2], ARGV[2], 'EX', ARGV[3]) "
    "if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) end return 1"
)


class Outcome(Enum):
    RUN = "run"  # this worker holds the lease: run the job
    FINISHED = "finished"  # the job already ended: drop this delivery
    BUSY = "busy"  # another worker holds a live lease: deliver again later


def _lease(job_id: str) -> str:
    return f"neuronova:job:{job_id}:lease"


def _done(job_id: str) -> str:
    return f"neuronova:job:{job_id}:done"


@dataclass
class JobClaims:
    client: redis.Redis
    lease_s: int = 30
    done_ttl_s: int = 30 * 24 * 3600
    # host:pid:random - the pid tells an operator (and the tests) which process runs a job.
    owner: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    )

    def claim(self, job_id: str) -> Outcome:
        if self.client.get(_done(job_id)) is not None:
            return Outcome.FINISHED
        if self.client.set(_lease(job_id), self.owner, nx=True, ex=self.lease_s):
            # Ended between the two reads: the lease is ours but there is nothing to do.
            if self.client.get(_done(job_id)) is not None:
                self.release(job_id)
                return Outcome.FINISHED
            return Outcome.RUN
        return Outcome.BUSY

    def renew(self, job_id: str) -> bool:
        return bool(self.client.eval(_RENEW, 1, _lease(job_id), self.owner, str(self.lease_s)))

    def release(self, job_id: str) -> None:
        self.client.eval(_RELEASE, 1, _lease(job_id), self.owner)

    def finish(self, job_id: str, state: str) -> None:
        self.client.eval(
            _FINISH, 2, _lease(job_id), _done(job_id), self.owner, state, str(self.done_ttl_s)
        )

    def final_state(self, job_id: str) -> str | None:
        value = self.client.get(_done(job_id))
        return value.decode() if isinstance(value, bytes) else value

    @contextmanager
    def heartbeat(self, job_id: str) -> Iterator[None]:
        """Renew the lease every third of ``lease_s`` while the block runs."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.lease_s / 3):
                try:
                    self.renew(job_id)
                except Exception:  # noqa: BLE001, S112 - Redis away: the next beat tries again
                    continue

        thread = threading.Thread(target=beat, name=f"lease-{job_id[:16]}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(5)
