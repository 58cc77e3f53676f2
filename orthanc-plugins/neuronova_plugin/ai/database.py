"""Adapter (SQLite or PostgreSQL): the connection under the AI job store, one per Orthanc process.

SQLite (a file under ``NeuroNova.VarDirectory``) when Orthanc's index is SQLite: one Orthanc owns
it, so that process always leads. PostgreSQL when Orthanc's index is: the store's tables live in
the schema ``neuronova`` of Orthanc's own database, so a backup or restore of the index carries
the cursor that points into its change log; every replica of the cluster connects there.

One replica at a time *leads*: it holds the session-level advisory lock ``LEADER_LOCK`` on its
connection and is the only one that reads the change log, moves the cursor and publishes. The
lock lives exactly as long as the session: when the leader dies, PostgreSQL ends its session
and releases it, and another replica takes over from what was committed. A connection that
breaks is replaced only by an explicit ``reconnect``; the new session does not lead until it has
taken the lock again, so a leader's work never continues silently on a session without it.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

# pg_try_advisory_lock's key: "NNAI" in ASCII; any constant unlikely to be taken by another tool.
LEADER_LOCK = 0x4E4E4149
SCHEMA_LOCK = 0x4E4E4153

SQLITE_SCHEMA = """
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

# Same tables; times as double precision (PostgreSQL's REAL is 4 bytes: seconds would be lost).
POSTGRES_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS neuronova;
CREATE TABLE IF NOT EXISTS neuronova.state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS neuronova.outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    task TEXT NOT NULL,
    queue TEXT NOT NULL,
    kwargs TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    sent DOUBLE PRECISION,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_unsent ON neuronova.outbox (sent, id);
CREATE TABLE IF NOT EXISTS neuronova.pending (
    orthanc_study_id TEXT PRIMARY KEY, seen DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS neuronova.reanalyses (job_base TEXT PRIMARY KEY, count INTEGER NOT NULL);
"""

Params = Sequence[Any]


class NotLeaderError(RuntimeError):
    """A leader-only write on a session that does not hold the leader lock."""


class Database(Protocol):
    """What the job store needs: statements, explicit transactions, and the leader lock."""

    lock: threading.Lock

    def execute(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """Run one statement (``?`` placeholders); rows for a query, [] otherwise."""
        ...

    def rowcount(self, sql: str, params: Params = ()) -> int: ...

    def begin(self) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def lead(self) -> bool:
        """Take (or confirm) the leadership on this session; False when another process has it."""
        ...

    @property
    def leading(self) -> bool: ...

    def reconnect(self) -> None: ...

    def close(self) -> None: ...


class SqliteDatabase:
    """One file, one Orthanc: this process always leads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SQLITE_SCHEMA)
        self.lock = threading.Lock()

    def execute(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._db.execute(sql, tuple(params)).fetchall()]

    def rowcount(self, sql: str, params: Params = ()) -> int:
        return int(self._db.execute(sql, tuple(params)).rowcount)

    def begin(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._db.execute("COMMIT")

    def rollback(self) -> None:
        self._db.execute("ROLLBACK")

    def lead(self) -> bool:
        return True

    @property
    def leading(self) -> bool:
        return True

    def reconnect(self) -> None:
        """Nothing to do: a local file does not drop its connection."""

    def close(self) -> None:
        self._db.close()


class PostgresDatabase:
    """Orthanc's PostgreSQL database, schema ``neuronova``; psycopg over the root's libpq."""

    def __init__(self, conninfo: str, connect_timeout_s: int = 5) -> None:
        self._conninfo = conninfo
        self._timeout = connect_timeout_s
        self._conn: Any = None
        self._leading = False
        self.lock = threading.Lock()
        self.reconnect()
        # Two replicas starting together must not race on CREATE ... IF NOT EXISTS.
        self.begin()
        self.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))
        for statement in filter(None, (s.strip() for s in POSTGRES_SCHEMA.split(";"))):
            self.execute(statement)
        self.commit()

    def reconnect(self) -> None:
        import psycopg  # noqa: PLC0415 - only a PostgreSQL deployment needs it

        old, self._conn, self._leading = self._conn, None, False
        if old is not None:
            with contextlib.suppress(psycopg.Error):
                old.close()
        self._conn = psycopg.connect(
            self._conninfo,
            autocommit=True,
            connect_timeout=self._timeout,
            application_name="neuronova-ai",
            # The store's unqualified table names are the schema's, never Orthanc's own tables.
            # The server's side of this session: a replica host that vanishes (no FIN) must lose
            # the session, and with it the leader lock, in ~25 s, not after Linux's 2 h default.
            options=(
                "-c search_path=neuronova -c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5"
                " -c tcp_keepalives_count=3 -c tcp_user_timeout=25000"
            ),
            # This side: a dead server must not leave the replica waiting on it.
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
        )

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("?", "%s")

    def execute(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        cursor = self._conn.execute(self._sql(sql), tuple(params))
        return [tuple(row) for row in cursor.fetchall()] if cursor.description else []

    def rowcount(self, sql: str, params: Params = ()) -> int:
        return int(self._conn.execute(self._sql(sql), tuple(params)).rowcount)

    def begin(self) -> None:
        self._conn.execute("BEGIN")

    def commit(self) -> None:
        self._conn.execute("COMMIT")

    def rollback(self) -> None:
        import psycopg  # noqa: PLC0415

        with contextlib.suppress(psycopg.Error):  # a broken session has rolled back already
            self._conn.execute("ROLLBACK")

    def lead(self) -> bool:
        if self._leading:
            self.execute("SELECT 1")  # raises if the session (and with it the lock) is gone
        else:
            rows = self.execute("SELECT pg_try_advisory_lock(?)", (LEADER_LOCK,))
            self._leading = bool(rows[0][0])
        return self._leading

    @property
    def leading(self) -> bool:
        return self._leading

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
