"""Test helpers for the Django portal: settings bootstrap, users, tokens, and a minimal nginx."""

from __future__ import annotations

import os
import tempfile
import uuid

import django


def configure_django() -> None:
    """Point Django at the portal settings with a private var dir, a local cache and a test DB.

    Portal tests run on SQLite by default and on MariaDB/MySQL when PORTAL_TEST_DATABASE_URL is
    set (e.g. mysql://root@127.0.0.1:3306/test); pytest-django then makes a fresh test database
    with a per-run name and drops it afterwards.
    """
    if os.environ.get("DJANGO_SETTINGS_MODULE"):
        return
    var_dir = tempfile.mkdtemp(prefix="nn-portal-test-")
    os.environ["DJANGO_SETTINGS_MODULE"] = "neuronova_portal.settings"
    os.environ.setdefault("NEURONOVA_VAR", var_dir)
    os.environ["DATABASE_URL"] = os.environ.get(
        "PORTAL_TEST_DATABASE_URL", f"sqlite:///{var_dir}/portal.sqlite3"
    )
    os.environ["DATABASE_TEST_NAME"] = f"test_nn_{uuid.uuid4().hex[:10]}"
    os.environ.setdefault("PORTAL_CACHE_URL", "locmemcache://")
    os.environ.setdefault("PORTAL_CACHE_PREFIX", f"nn-test-{uuid.uuid4().hex[:8]}")
    django.setup()
