"""The two mechanisms behind "exactly once", each against its real engine: the AI job store's
leader lock on the machine's PostgreSQL, and the workers' job claims on a private Redis."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from neuronova_inference.claims import JobClaims, Outcome
from neuronova_plugin.ai.database import NotLeaderError
from neuronova_plugin.ai.store import JobStore, Message

from tests.support.postgres import ScratchDatabase, scratch_database
from tests.support.redis_server import RedisServer


def _leads_soon(store: JobStore, timeout_s: float = 10) -> bool:
    """The server ends a closed or killed session a moment later: the next tick takes over."""
    deadline = time.monotonic() + timeout_s
    while not store.lead():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture
def database() -> Iterator[ScratchDatabase]:
    with scratch_database() as db:
        yield db


def test_one_replica_leads_and_the_next_takes_over_from_what_was_committed(
    database: ScratchDatabase,
) -> None:
    first, second = JobStore.postgres(database.conninfo), JobStore.postgres(database.conninfo)
    try:
        assert first.lead()
        assert not second.lead()
        assert first.commit_changes(cursor=7, messages=[Message("job-1", "t", "q", {})]) == 1
        with pytest.raises(NotLeaderError):
            second.commit_changes(cursor=9, messages=[])
        # Any replica may enqueue (a re-analysis asked there); keys stay unique across replicas.
        assert second.enqueue([Message("job-1", "t", "q", {}), Message("job-2", "t", "q", {})]) == 1
        assert second.next_reanalysis("s:m:1") == 1
        assert first.next_reanalysis("s:m:1") == 2
    finally:
        first.close()  # the leader's session ends: PostgreSQL releases its lock
    try:
        assert _leads_soon(second)
        assert second.cursor() == 7
        assert [o.message.key for o in second.unsent()] == ["job-1", "job-2"]
        second.mark_sent(second.unsent()[0].id)
        assert second.counts() == {"unsent": 1, "messages": 2, "pending": 0}
    finally:
        second.close()


def test_a_leader_whose_session_was_killed_does_not_write_until_it_leads_again(
    database: ScratchDatabase,
) -> None:
    store, other = JobStore.postgres(database.conninfo), JobStore.postgres(database.conninfo)
    try:
        assert store.lead()
        with database.connect() as conn:
            conn.execute(
                # This test's database only: other suites on the same server run leaders too.
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'neuronova-ai' AND pid <> pg_backend_pid() "
                "AND datname = current_database() "
                "AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory')"
            )
        assert _leads_soon(other)  # the lock went with the killed session
        with pytest.raises(Exception):  # noqa: B017 - psycopg's OperationalError
            store.commit_changes(cursor=3, messages=[])
        assert not store.lead()  # a new session, and the lock is the other's
        with pytest.raises(NotLeaderError):
            store.commit_changes(cursor=3, messages=[])
        assert other.commit_changes(cursor=4, messages=[]) == 0
        assert store.cursor() == 4
    finally:
        store.close()
        other.close()


def test_the_server_ends_a_vanished_leader_s_session_within_seconds(
    database: ScratchDatabase,
) -> None:
    """A replica host that vanishes (power, network) sends no FIN: only the server's own TCP
    keepalive and user timeout end its session and free the lock. Unset, Linux waits over 2 h;
    the client's libpq keepalives only detect a dead server. The leader sets the server's."""
    store = JobStore.postgres(database.conninfo)
    try:
        assert store.lead()
        session = store._db  # the leader's own session, where the settings live
        settings = {
            name: session.execute(f"SHOW {name}")[0][0]
            for name in (
                "tcp_keepalives_idle",
                "tcp_keepalives_interval",
                "tcp_keepalives_count",
                "tcp_user_timeout",
            )
        }
        assert settings == {
            "tcp_keepalives_idle": "10",
            "tcp_keepalives_interval": "5",
            "tcp_keepalives_count": "3",
            "tcp_user_timeout": "25000",  # ms
        }
    finally:
        store.close()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[redis.Redis]:
    server = RedisServer(tmp_path).start()
    try:
        yield server.client()
    finally:
        server.stop()


def test_claims_run_a_job_once_at_a_time_and_never_after_it_ended(broker: redis.Redis) -> None:
    a, b = JobClaims(broker, lease_s=2), JobClaims(broker, lease_s=2)
    assert a.claim("j1") is Outcome.RUN
    assert b.claim("j1") is Outcome.BUSY
    with a.heartbeat("j1"):
        time.sleep(3)  # longer than the lease: the heartbeat keeps it
        assert b.claim("j1") is Outcome.BUSY
    a.finish("j1", "done")
    assert b.claim("j1") is Outcome.FINISHED
    assert a.final_state("j1") == "done"


def test_a_dead_workers_lease_expires_and_another_runs_the_job(broker: redis.Redis) -> None:
    dead, alive = JobClaims(broker, lease_s=1), JobClaims(broker, lease_s=1)
    assert dead.claim("j2") is Outcome.RUN  # then killed: no heartbeat, no finish
    assert alive.claim("j2") is Outcome.BUSY
    time.sleep(1.5)
    assert alive.claim("j2") is Outcome.RUN
    dead.release("j2")  # a late release of a lease that is no longer ours changes nothing
    assert dead.claim("j2") is Outcome.BUSY
    dead.finish("j2", "done")  # nor does a late finish end the other's lease early...
    assert broker.get("neuronova:job:j2:lease") is not None
    assert alive.claim("j2") is Outcome.FINISHED  # ...but the job has ended: no third run
