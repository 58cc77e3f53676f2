"""Test-wide fixtures and the folder rule for markers; area fixtures live in their folder's
conftest, helpers shared by areas in tests/support/."""

from __future__ import annotations

import os
import secrets
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.support.models import MODELS_DIR
from tests.support.stack import RunningStack, native_stack

TESTS = Path(__file__).resolve().parent
# Every deployable reads the models folder from its configuration, never from a guessed path:
# the tests name the repository's models/ for themselves and the processes they start.
os.environ.setdefault("NEURONOVA_MODELS_DIR", str(MODELS_DIR))
# The Celery task key every process the tests start shares (the stack draws its own instead):
# drawn per session, so no key is written in the repository.
os.environ.setdefault("NEURONOVA_TASK_KEY", secrets.token_urlsafe(32))

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
# Tests that drive real services: one that skips hides the very failure it exists to catch (a
# service or tool missing), so a skip there is reported as a failure.
NEVER_SKIP = frozenset({"integration", "e2e", "security", "compose"})


def _folder_marker(item: pytest.Item) -> str | None:
    return FOLDER_MARKERS.get(item.path.resolve().relative_to(TESTS).parts[0])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    del config
    errors = set()
    for item in items:
        where = item.path.resolve().relative_to(TESTS)
        marker = _folder_marker(item)
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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    del call
    report = yield
    if report.skipped and not hasattr(report, "wasxfail") and _folder_marker(item) in NEVER_SKIP:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        top = item.path.resolve().relative_to(TESTS).parts[0]
        report.outcome = "failed"
        report.longrepr = f"{reason} - tests in tests/{top} fail, never skip"
    return report


@pytest.fixture(scope="session")
def stack() -> Iterator[RunningStack]:
    """The whole native stack on spare ports, started once for the session that asks for it."""
    with native_stack() as running:
        yield running
