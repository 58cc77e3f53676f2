"""Test-wide fixtures and the folder rule for markers; area fixtures live in their folder's
conftest, helpers shared by areas in tests/support/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stack import RunningStack, native_stack

TESTS = Path(__file__).resolve().parent

# The marker a test carries is decided by the folder it lives in (tests/<folder>/...), never by
# hand, so `-m unit` selects exactly tests/unit. Orthanc's own suites under tests/upstream run real
# Orthancs: integration. A test in a folder missing here is a collection error, not unmarked.
FOLDER_MARKERS = {
    "unit": "unit",
    "integration": "integration",
    "e2e": "e2e",
    "security": "security",
    "upstream": "integration",
    "compose": "compose",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    del config
    errors = set()
    for item in items:
        where = item.path.resolve().relative_to(TESTS)
        marker = FOLDER_MARKERS.get(where.parts[0])
        if marker is None:
            errors.add(f"tests/{where}: tests/{where.parts[0]} has no marker in tests/conftest.py")
            continue
        by_hand = {
            mark.name
            for node in item.listchain()
            for mark in node.own_markers
            if mark.name in FOLDER_MARKERS.values()
        }
        if by_hand:
            errors.add(f"tests/{where}: marked {sorted(by_hand)} by hand; the folder decides")
            continue
        item.add_marker(getattr(pytest.mark, marker))
    if errors:
        raise pytest.UsageError("test markers:\n  " + "\n  ".join(sorted(errors)))


@pytest.fixture(scope="session")
def stack() -> Iterator[RunningStack]:
    """The whole native stack on spare ports, started once for the session that asks for it."""
    with native_stack() as running:
        yield running
