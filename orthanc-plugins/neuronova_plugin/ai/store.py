"""Adapter (SQLite under NeuroNova.VarDirectory): the durable change-log cursor, the outbox of
Celery messages, the studies waiting to become stable and the re-analysis counters.

The cursor and the messages a change produced are written in one transaction, so after a crash
either both are there or neither: a change is never lost and never turned into jobs twice
(messages also carry a unique key, the job's idempotency key).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    task TEXT NOT NULL,
    queue TEXT NOT NULL,
    kwargs TEXT NOT NULL,
    created REAL NOT NULL,
    sent REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (sent, id);
CREATE TABLE IF NOT EXISTS pending (orthanc_study_id TEXT PRIMARY KEY, seen REAL NOT NULL);
CREATE TABLE IF NOT EXISTS reanalyses (job_base TEXT PRIMARY KEY, count INTEGER NOT NULL);
"""


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
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def cursor(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE key='cursor'").fetchone()
        return int(row[0]) if row else 0

    def commit_changes(
        self,
        *,
        cursor: int,
        messages: Iterable[Message],
        new_pending: Iterable[str] = (),
        resolved: Iterable[str] = (),
    ) -> int:
        """Atomically enqueue messages, update the pending set and advance the cursor.

        Returns how many messages were new (duplicates by key are ignored).
        """
        now = time.time()
        added = 0
        with self._tx() as db:
            for m in messages:
                cur = db.execute(
                    "INSERT OR IGNORE INTO outbox (key, task, queue, kwargs, created) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (m.key, m.task, m.queue, json.dumps(m.kwargs, sort_keys=True), now),
                )
                added += cur.rowcount
            for study in new_pending:
                db.execute(
                    "INSERT INTO pending (orthanc_study_id, seen) VALUES (?, ?) "
                    "ON CONFLICT(orthanc_study_id) DO UPDATE SET seen=excluded.seen",
                    (study, now),
                )
            for study in resolved:
                db.execute("DELETE FROM pending WHERE orthanc_study_id=?", (study,))
            db.execute(
                "INSERT INTO state (key, value) VALUES ('cursor', ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (str(cursor),),
            )
        return added

    def enqueue(self, messages: Iterable[Message]) -> int:
        return self.commit_changes(cursor=self.cursor(), messages=messages)

    def pending(self, older_than: float) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT orthanc_study_id FROM pending WHERE seen < ?", (older_than,)
            ).fetchall()
        return [str(r[0]) for r in rows]

    def unsent(self, limit: int = 100) -> list[Outgoing]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, key, task, queue, kwargs, attempts FROM outbox "
                "WHERE sent IS NULL ORDER BY id LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            Outgoing(
                int(r[0]), Message(str(r[1]), str(r[2]), str(r[3]), json.loads(r[4])), int(r[5])
            )
            for r in rows
        ]

    def mark_sent(self, outgoing_id: int) -> None:
        with self._tx() as db:
            db.execute("UPDATE outbox SET sent=? WHERE id=?", (time.time(), outgoing_id))

    def mark_failed(self, outgoing_id: int, error: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET attempts=attempts+1, last_error=? WHERE id=?",
                (error[:500], outgoing_id),
            )

    def has_key(self, key: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM outbox WHERE key=?", (key,)).fetchone()
        return row is not None

    def next_reanalysis(self, job_base: str) -> int:
        with self._tx() as db:
            db.execute(
                "INSERT INTO reanalyses (job_base, count) VALUES (?, 1) "
                "ON CONFLICT(job_base) DO UPDATE SET count=count+1",
                (job_base,),
            )
            row = db.execute(
                "SELECT count FROM reanalyses WHERE job_base=?", (job_base,)
            ).fetchone()
        return int(row[0])

    def counts(self) -> dict[str, int]:
        with self._lock:
            unsent = self._db.execute("SELECT COUNT(*) FROM outbox WHERE sent IS NULL").fetchone()
            total = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
            pending = self._db.execute("SELECT COUNT(*) FROM pending").fetchone()
        return {"unsent": int(unsent[0]), "messages": int(total[0]), "pending": int(pending[0])}
