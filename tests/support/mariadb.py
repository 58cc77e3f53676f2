"""Test helper (adapter, MariaDB): a throw-away database on the machine's MariaDB server.

The machine runs MariaDB on 127.0.0.1:3306 (root, no password, ``scripts/bootstrap.sh test``);
override with ``PORTAL_TEST_MYSQL_URL`` (mysql://user:password@host:port). Each call creates a
database with a random name and drops it afterwards; yields its Django DATABASE_URL.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pymysql

MYSQL_SERVER = os.environ.get("PORTAL_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306")


@contextlib.contextmanager
def scratch_mariadb() -> Iterator[str]:
    parts = urlsplit(MYSQL_SERVER)
    name = f"nn_it_{uuid.uuid4().hex[:10]}"
    admin = pymysql.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
    )
    try:
        with admin.cursor() as cursor:
            cursor.execute(
                f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
        yield f"{MYSQL_SERVER.rstrip('/')}/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()
