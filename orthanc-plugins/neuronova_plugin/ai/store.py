"""Adapter (the job database: SQLite or PostgreSQL, ``database.py``): the durable change-log
cursor, the outbox of Celery messages, the studies waiting to become stable and the re-analysis
counters.

The cursor and the messages a change produced are written in one transaction, so after a crash
either both are there or neither: a change is never lost and never turned into jobs twice
(messages also carry a unique key, the job's idempotency key, so a change read twice, by a
replica that took over the lead, adds nothing). Moving the cursor is for the leader only;
enqueueing (a re-analysis asked on any replica) and the counters are for every replica.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuronova_plugin.ai.database import (
    Database,
    NotLeaderError,
    PostgresDatabase,
    SqliteDatabase,
)

_INSERT_MESSAGE = (
    "INSERT INTO outbox (key, task, queue, kwargs, created) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (key) DO NOTHING"
)


@dataclass(frozen=True, slots=True)
class Message:
    """A Celery task to publish; ``key`` makes enqueueing idempotent."""

    key: str
    task: str
    queue: str
    kwargs: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Outgoing:
    id: int
    message: Message
    attempts: int


class JobStore:
    def __init__(self, target: Path | Database) -> None:
        self._db: Database = SqliteDatabase(target) if isinstance(target, Path) else target

    @classmethod
    def postgres(cls, conninfo: str) -> JobStore:
        return cls(PostgresDatabase(conninfo))

    def close(self) -> None:
        with self._db.lock:
            self._db.close()

    @contextmanager
    def _tx(self, *, leader: bool = False) -> Iterator[Database]:
        with self._db.lock:
            if leader and not self._db.leading:
                raise NotLeaderError("this replica does not lead the AI jobs")
            self._db.begin()
            try:
                yield self._db
            except BaseException:
                self._db.rollback()
                raise
            self._db.commit()

    def lead(self) -> bool:
        """Take or keep the lead; a broken session is replaced (and must take the lock again)."""
        with self._db.lock:
            try:
                return self._db.lead()
            except Exception:  # noqa: BLE001 - any driver error: the session is unusable
                self._db.reconnect()
                return self._db.lead()

    @property
    def leading(self) -> bool:
        return self._db.leading

    def cursor(self) -> int:
        with self._db.lock:
            rows = self._db.execute("SELECT value FROM state WHERE key='cursor'")
        return int(rows[0][0]) if rows else 0

    def commit_changes(
        self,
        *,
        cursor: int,
        messages: Iterable[Message],
        new_pending: Iterable[str] = (),
        resolved: Iterable[str] = (),
    ) -> int:
        """Leader only: atomically enqueue messages, update the pending set, move the cursor.

        Returns how many messages were new (duplicates by key are ignored).
        """
        with self._tx(leader=True) as db:
            added = _insert(db, messages)
            _set_pending(db, new_pending, resolved)
            db.execute(
                "INSERT INTO state (key, value) VALUES ('cursor', ?) "
                "ON CONFLICT (key) DO UPDATE SET value=excluded.value",
                (str(cursor),),
            )
        return added

    def resolve(
        self,
        messages: Iterable[Message],
        *,
        resolved: Iterable[str] = (),
        pending: Iterable[str] = (),
    ) -> int:
        """Enqueue messages and update the pending set, leaving the cursor alone."""
        with self._tx() as db:
            added = _insert(db, messages)
            _set_pending(db, pending, resolved)
        return added

    def enqueue(self, messages: Iterable[Message]) -> int:
        return self.resolve(messages)

    def pending(self, older_than: float) -> list[str]:
        with self._db.lock:
            rows = self._db.execute(
                "SELECT orthanc_study_id FROM pending WHERE seen < ? ORDER BY seen", (older_than,)
            )
        return [str(r[0]) for r in rows]

    def unsent(self, limit: int = 100) -> list[Outgoing]:
        with self._db.lock:
            rows = self._db.execute(
                "SELECT id, key, task, queue, kwargs, attempts FROM outbox "
                "WHERE sent IS NULL ORDER BY id LIMIT ?",
                (limit,),
            )
        return [
            Outgoing(
                int(r[0]), Message(str(r[1]), str(r[2]), str(r[3]), json.loads(r[4])), int(r[5])
            )
            for r in rows
        ]

    def mark_sent(self, outgoing_id: int) -> None:
        with self._tx(leader=True) as db:
            db.execute("UPDATE outbox SET sent=? WHERE id=?", (time.time(), outgoing_id))

    def mark_failed(self, outgoing_id: int, error: str) -> None:
        with self._tx(leader=True) as db:
            db.execute(
                "UPDATE outbox SET attempts=attempts+1, last_error=? WHERE id=?",
                (error[:500], outgoing_id),
            )

    def has_key(self, key: str) -> bool:
        with self._db.lock:
            return bool(self._db.execute("SELECT 1 FROM outbox WHERE key=?", (key,)))

    def next_reanalysis(self, job_base: str) -> int:
        with self._tx() as db:
            rows = db.execute(
                "INSERT INTO reanalyses (job_base, count) VALUES (?, 1) "
                "ON CONFLICT (job_base) DO UPDATE SET count=reanalyses.count+1 RETURNING count",
                (job_base,),
            )
        return int(rows[0][0])

    def counts(self) -> dict[str, int]:
        with self._db.lock:
            unsent = self._db.execute("SELECT COUNT(*) FROM outbox WHERE sent IS NULL")
            total = self._db.execute("SELECT COUNT(*) FROM outbox")
            pending = self._db.execute("SELECT COUNT(*) FROM pending")
        return {
            "unsent": int(unsent[0][0]),
            "messages": int(total[0][0]),
            "pending": int(pending[0][0]),
        }

    def messages(self, task: str) -> list[Message]:
        """Every message of one task, sent or not (the status route and the tests count jobs)."""
        with self._db.lock:
            rows = self._db.execute(
                "SELECT key, task, queue, kwargs FROM outbox WHERE task=? ORDER BY id", (task,)
            )
        return [Message(str(r[0]), str(r[1]), str(r[2]), json.loads(r[3])) for r in rows]


def _insert(db: Database, messages: Iterable[Message]) -> int:
    now, added = time.time(), 0
    for m in messages:
        params = (m.key, m.task, m.queue, json.dumps(m.kwargs, sort_keys=True), now)
        added += db.rowcount(_INSERT_MESSAGE, params)
    return added


def _set_pending(db: Database, pending: Iterable[str], resolved: Iterable[str]) -> None:
    now = time.time()
    for study in pending:
        db.execute(
            "INSERT INTO pending (orthanc_study_id, seen) VALUES (?, ?) "
            "ON CONFLICT (orthanc_study_id) DO UPDATE SET seen=excluded.seen",
            (study, now),
        )
    for study in resolved:
        db.execute("DELETE FROM pending WHERE orthanc_study_id=?", (study,))
