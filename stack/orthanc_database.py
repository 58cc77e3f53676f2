"""Adapter (PostgreSQL): the role and database of Orthanc's index, made once by `make up`.

With ``NEURONOVA_ORTHANC_DB=postgresql`` the native stack uses the machine's PostgreSQL
(``NEURONOVA_ORTHANC_PG_ADMIN``, an administrator's libpq conninfo; default the local server as
``postgres``): it creates the role ``NEURONOVA_ORTHANC_PG_USER`` with the generated
``ORTHANC_DB_PASSWORD`` and the database it owns, and keeps the password in step. Orthanc's
PostgreSQL plugin creates its tables itself at first start; the AI job store adds the schema
``neuronova`` (orthanc-plugins/neuronova_plugin/ai/database.py). An empty admin conninfo means a
DBA made both: the stack only checks it can connect.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from stack.config import ConfigError, StackConfig
from stack.orthanc_cluster import PostgresIndex


def ensure(config: StackConfig) -> str:
    """Create or update the role and database; returns what was done, for the log."""
    index = config.orthanc_postgres
    if index is None:
        return ""
    if not config.orthanc_postgres_admin:
        _check(index)
        return f"PostgreSQL index {index.database} on {index.host}:{index.port} answers"
    try:
        with psycopg.connect(
            config.orthanc_postgres_admin, autocommit=True, connect_timeout=5
        ) as c:
            exists = c.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", (index.user,)
            ).fetchone()
            verb = "ALTER" if exists else "CREATE"
            c.execute(
                sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(index.user), sql.Literal(index.password)
                )
            )
            found = c.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (index.database,)
            ).fetchone()
            if not found:
                c.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8'").format(
                        sql.Identifier(index.database), sql.Identifier(index.user)
                    )
                )
    except psycopg.Error as exc:
        raise ConfigError(
            f"cannot prepare Orthanc's PostgreSQL index with NEURONOVA_ORTHANC_PG_ADMIN: {exc}"
        ) from exc
    _check(index)
    made = "created" if not found else "ready"
    return f"PostgreSQL index {index.database} on {index.host}:{index.port} {made}"


def _check(index: PostgresIndex) -> None:
    try:
        psycopg.connect(
            host=index.host,
            port=index.port,
            dbname=index.database,
            user=index.user,
            password=index.password,
            connect_timeout=5,
        ).close()
    except psycopg.Error as exc:
        raise ConfigError(f"Orthanc's PostgreSQL index does not answer: {exc}") from exc
