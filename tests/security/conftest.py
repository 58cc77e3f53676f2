"""Security tests (issue 11): each door attacked as an attacker would, mostly through the real
chain (nginx → gunicorn → Orthanc with the plugin); Django settings for the in-process parts."""

from tests.support.portal import configure_django

configure_django()

from tests.unit.portal.conftest import (  # noqa: E402 - after configure_django()
    fake_orthanc,
    fast_password_hashing,
)

__all__ = ["fake_orthanc", "fast_password_hashing"]
