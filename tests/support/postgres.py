"""Test helper (adapter, PostgreSQL): a throw-away database and role on the machine's server.

The machine runs PostgreSQL on 127.0.0.1:5432 (``scripts/bootstrap.sh test`` makes sure; trust
authentication for local TCP here). Each call creates its own role and database with random
names, owned by that role, and drops both afterwards, so tests never meet another test's
Orthanc index or the native stack's. Override the administrator's connection with
``NEURONOVA_TEST_PG_ADMIN`` (a libpq conninfo).

    with scratch_database() as db:
        OrthancProcess(workdir, postgres=db.orthanc_section())
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

ADMIN = os.environ.get(
    "NEURONOVA_TEST_PG_ADMIN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
)


@dataclass(frozen=True)
class ScratchDatabase:
    name: str
    user: str
    password: str
    host: str = "127.0.0.1"
    port: int = 5432

    @property
    def conninfo(self) -> str:
        return (
            f"host={self.host} port={self.port} dbname={self.name} "
            f"user={self.user} password={self.password}"
        )

    def orthanc_section(self, *, storage: bool = False) -> dict[str, Any]:
        """Orthanc's ``PostgreSQL`` configuration section for this database."""
        return {
            "EnableIndex": True,
            "EnableStorage": storage,
            "Host": self.host,
            "Port": self.port,
            "Database": self.name,
            "Username": self.user,
            "Password": self.password,
            # Several Orthancs share the index: no exclusive lock (orthanc-postgresql >= 4.0).
            "Lock": False,
            "IndexConnectionsCount": 2,
            "MaximumConnectionRetries": 20,
        }

    def connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(self.conninfo, autocommit=True)


def admin() -> psycopg.Connection[tuple[Any, ...]]:
    return psycopg.connect(ADMIN, autocommit=True, connect_timeout=5)


@contextlib.contextmanager
def scratch_database(prefix: str = "nn_test") -> Iterator[ScratchDatabase]:
    token = secrets.token_hex(4)
    db = ScratchDatabase(f"{prefix}_{token}", f"{prefix}_{token}", secrets.token_urlsafe(16))
    with admin() as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(db.user), sql.Literal(db.password)
            )
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(db.name), sql.Identifier(db.user)
            )
        )
    try:
        yield db
    finally:
        with admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db.name))
            )
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(db.user)))
