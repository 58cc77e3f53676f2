"""FHIR integration tests: one in-memory FHIR R4 server per module, emptied before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fhir_server import FhirTestServer
from tests.support.portal import configure_django

# Sync state lives in the portal's database: run inside the portal's Django test settings.
configure_django()


@pytest.fixture(scope="module")
def fhir_server_module() -> Iterator[FhirTestServer]:
    with FhirTestServer.start() as server:
        yield server


@pytest.fixture
def fhir_server(fhir_server_module: FhirTestServer) -> FhirTestServer:
    fhir_server_module.reset()
    return fhir_server_module
