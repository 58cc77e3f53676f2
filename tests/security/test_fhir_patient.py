"""Door 9: the EMR's Patient is never overwritten by what a DICOM sender claims.

Any modality (or upload) may send a study whose PatientID matches an EMR patient while its name,
birth date and sex say something else. The sync matches the EMR Patient by identifier, references
it, and leaves it exactly as the EMR wrote it; it creates a Patient only when none carries the
identifier (a conditional create). Real FHIR R4 server (tests/support/fhir_server).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from fhir_sync.client import FhirClient
from fhir_sync.config import FhirConfig, load_config
from fhir_sync.sync import sync_snapshot
from fhir_sync.values import PatientInfo

from tests.support.fhir_server import FhirTestServer
from tests.support.fhir_values import snapshot


@pytest.fixture(scope="module")
def server() -> Iterator[FhirTestServer]:
    with FhirTestServer.start() as running:
        yield running


@pytest.fixture
def fhir(server: FhirTestServer) -> FhirTestServer:
    server.reset()
    return server


def _config(server: FhirTestServer) -> FhirConfig:
    return load_config({"FHIR_BASE_URL": server.base_url})


def _emr_patient(config: FhirConfig) -> dict[str, object]:
    """What the hospital's EMR holds for MRN-0001 (the PatientID of tests.support.fhir_values)."""
    return {
        "resourceType": "Patient",
        "identifier": [
            {"system": "urn:oid:2.16.840.1.113883.19.5", "value": "NHS-99"},
            {"system": config.patient_id_system, "value": "MRN-0001"},
        ],
        "name": [{"family": "Official", "given": ["Registered"]}],
        "birthDate": "1950-05-05",
        "gender": "male",
        "telecom": [{"system": "phone", "value": "+82-2-0000-0000"}],
        "address": [{"city": "Seoul"}],
    }


def _sync(config: FhirConfig) -> None:
    client = FhirClient(config)
    try:
        sync_snapshot(snapshot(), server=client, config=config)
    finally:
        client.close()


def test_an_emr_patient_is_referenced_never_rewritten(fhir: FhirTestServer) -> None:
    config = _config(fhir)
    client = FhirClient(config)
    try:
        emr = client.create("Patient", _emr_patient(config), identifier="x|never-matches")
    finally:
        client.close()

    _sync(config)  # DICOM says Doe^Jane, 1970-01-02, F for the same PatientID

    (patient,) = fhir.search("Patient")
    assert patient["id"] == emr["id"]
    assert len(fhir.history("Patient", emr["id"])) == 1, "the EMR Patient got a new version"
    for field in ("identifier", "name", "birthDate", "gender", "telecom", "address"):
        assert patient[field] == emr[field], field
    (study,) = fhir.search("ImagingStudy")
    assert study["subject"] == {"reference": f"Patient/{emr['id']}"}
    (report,) = fhir.search("DiagnosticReport")
    assert report["subject"] == {"reference": f"Patient/{emr['id']}"}


def test_later_dicom_demographics_never_change_a_patient(fhir: FhirTestServer) -> None:
    config = _config(fhir)
    _sync(config)  # absent: created once from the first study's demographics
    (created,) = fhir.search("Patient")
    assert created["name"][0]["family"] == "Doe"

    impostor = replace(snapshot(), patient=PatientInfo("MRN-0001", "Evil^Mallory", None, "M"))
    client = FhirClient(config)
    try:
        sync_snapshot(impostor, server=client, config=config)
    finally:
        client.close()

    (patient,) = fhir.search("Patient")
    assert patient["id"] == created["id"]
    assert len(fhir.history("Patient", created["id"])) == 1
    assert patient["name"] == created["name"]
    assert patient["gender"] == "female"
    assert patient["birthDate"] == "1970-01-02"


def test_a_missing_patient_is_created_once_conditionally(fhir: FhirTestServer) -> None:
    config = _config(fhir)
    _sync(config)
    _sync(config)
    patients = fhir.search("Patient", identifier=f"{config.patient_id_system}|MRN-0001")
    assert len(patients) == 1
    assert fhir.search("Patient") == patients
