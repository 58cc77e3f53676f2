"""Test helpers for the Django portal: settings bootstrap, users, tokens, and a minimal nginx."""

from __future__ import annotations

import base64
import json
import os
import tempfile
import time
import uuid

import django
import jwt


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
    os.environ.setdefault("PORTAL_LOGIN_RATE", "1000/min")
    os.environ.setdefault("PORTAL_CACHE_PREFIX", f"nn-test-{uuid.uuid4().hex[:8]}")
    django.setup()


DEV_PASSWORDS = {
    "admin": "admin-dev-pass",
    "radiologist": "radiologist-dev-pass",
    "clinician": "clinician-dev-pass",
    "clinician2": "clinician2-dev-pass",
}


def bad_tokens(*, valid_access: str, valid_refresh: str, signing_key: str) -> dict[str, str]:
    """Tokens that must all be refused, derived from a real access token's claims.

    `revoked` is not here: it needs a logout against the running portal.
    """
    claims = jwt.decode(valid_access, options={"verify_signature": False})
    now = int(time.time())

    def signed(**changes: object) -> str:
        return jwt.encode({**claims, **changes}, signing_key, algorithm="HS256")

    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return {
        "expired": signed(exp=now - 60, iat=now - 700),
        "bad-signature": jwt.encode(claims, "not-the-key-" * 4, algorithm="HS256"),
        "alg-none": f"{header}.{body}.",
        "wrong-audience": signed(aud="someone-else"),
        "wrong-issuer": signed(iss="someone-else"),
        "refresh-as-access": valid_refresh,
        "garbage": "not.a.jwt",
    }
