"""Security tests: each door attacked as an attacker would, mostly through the real
chain (nginx → gunicorn → Orthanc with the plugin); Django settings for the in-process parts."""

from collections.abc import Iterator

import pytest

from tests.support.portal import configure_django

configure_django()

from tests.support.hardened import Hardened, hardened_chain  # noqa: E402
from tests.support.portal_fakes import (  # noqa: E402 - after configure_django()
    fake_orthanc,
    fast_password_hashing,
)

__all__ = ["fake_orthanc", "fast_password_hashing"]


@pytest.fixture(scope="session")
def hardened_session() -> Iterator[Hardened]:
    """One real chain with tight limits (tests.support.hardened.HARDENED_ENV) for the session."""
    with hardened_chain() as running:
        yield running


@pytest.fixture
def hardened(hardened_session: Hardened) -> Hardened:
    """The hardened chain, its portal cache emptied: no throttle or backoff left by another test."""
    hardened_session.chain.flush_cache()
    return hardened_session
