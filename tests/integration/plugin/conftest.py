"""Fixtures for plugin integration tests: one private Orthanc with the plugin per test module.

Other areas can copy these two fixtures or call tests.support.orthanc.running_orthanc directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.orthanc import OrthancProcess, running_orthanc


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancProcess]:
    """Orthanc + NeuroNova plugin + DICOMweb, shared by the tests of one module."""
    workdir: Path = tmp_path_factory.mktemp("orthanc")
    with running_orthanc(workdir) as running:
        yield running
    assert_no_plugin_errors(running.log_text())


# What Orthanc or our wrappers log when a plugin callback failed.
PLUGIN_ERRORS = (
    "NeuroNova: re-encoding failed",
    "NeuroNova: ingest callback failed",
    "NeuroNova: route",
    "Error in the REST callback",
    "Exception inside the plugin engine",
)


def assert_no_plugin_errors(log: str) -> None:
    found = [line for line in log.splitlines() if any(e in line for e in PLUGIN_ERRORS)]
    assert found == []


@pytest.fixture
def fresh_orthanc(tmp_path: Path) -> Iterator[OrthancProcess]:
    """A private Orthanc for one test (e.g. one that restarts it)."""
    with running_orthanc(tmp_path / "orthanc") as running:
        yield running
