"""Portal integration tests: Django settings for in-process parts; the chain lives in support."""

from tests.support.portal import configure_django

configure_django()

from tests.unit.portal.conftest import (  # noqa: E402 - after configure_django()
    fake_orthanc,
    fast_password_hashing,
)

__all__ = ["fake_orthanc", "fast_password_hashing"]
