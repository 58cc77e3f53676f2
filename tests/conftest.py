"""Test-wide fixtures; area fixtures live in their folder's conftest, helpers in tests/support/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import RunningStack, native_stack


@pytest.fixture(scope="session")
def stack() -> Iterator[RunningStack]:
    """The whole native stack on spare ports, started once for the session that asks for it."""
    with native_stack() as running:
        yield running
