"""Test helper (adapter): a throw-away portal database on one of the machine's database servers.

The portal supports PostgreSQL (compose's engine) and MariaDB; tests that need real row locks
(SQLite has one writer at a time and hides races) run once on each. Yields a Django DATABASE_URL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tests.support.mariadb import scratch_mariadb
from tests.support.postgres import scratch_database

ENGINES = ("postgresql", "mariadb")


@contextlib.contextmanager
def scratch_portal_database(engine: str) -> Iterator[str]:
    if engine == "postgresql":
        with scratch_database("nn_portal") as db:
            yield f"postgres://{db.user}:{db.password}@{db.host}:{db.port}/{db.name}"
    elif engine == "mariadb":
        with scratch_mariadb() as url:
            yield url
    else:
        raise ValueError(f"no scratch database for engine {engine!r}")
