"""Sync against a real FHIR R4 server (Medplum's in-memory router): create, read back, idempotence,
amendment, refusal, and each auth mode that server can check."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fhir_sync import mapping
from fhir_sync.client import FhirClient, FhirRejectedError, FhirTransientError
from fhir_sync.config import FhirConfig, load_config
from fhir_sync.sync import sync_snapshot

from tests.support.fhir_server import FhirTestServer
from tests.support.fhir_values import STUDY_UID, reanalysed, snapshot

DICOMWEB = "https://pacs.example/api/pacs/dicom-web"


def _config(server: FhirTestServer, **extra: str) -> FhirConfig:
    return load_config({"FHIR_BASE_URL": server.base_url, "FHIR_DICOMWEB_URL": DICOMWEB, **extra})


@contextmanager
def _client(config: FhirConfig) -> Iterator[FhirClient]:
    client = FhirClient(config)
    try:
        yield client
    finally:
        client.close()


def test_first_sync_creates_every_resource_and_reads_back(fhir_server: FhirTestServer) -> None:
    config = _config(fhir_server)
    with _client(config) as client:
        report = sync_snapshot(snapshot(), server=client, config=config)

    assert [w.action for w in report.written] == ["created"] * 7
    (patient,) = fhir_server.search("Patient", identifier=f"{config.patient_id_system}|MRN-0001")
    assert patient["name"][0]["family"] == "Doe"
    (study,) = fhir_server.search("ImagingStudy", identifier=f"urn:dicom:uid|urn:oid:{STUDY_UID}")
    assert study["subject"]["reference"] == f"Patient/{patient['id']}"
    assert study["numberOfSeries"] == 3
    assert study["numberOfInstances"] == 41
    (endpoint,) = fhir_server.search("Endpoint")
    assert endpoint["address"] == DICOMWEB
    assert study["endpoint"] == [{"reference": f"Endpoint/{endpoint['id']}"}]

    (diagnostic,) = fhir_server.search("DiagnosticReport")
    assert diagnostic["status"] == "final"
    assert diagnostic["subject"]["reference"] == f"Patient/{patient['id']}"
    assert diagnostic["imagingStudy"][0]["reference"] == f"ImagingStudy/{study['id']}"
    observations = {o["id"]: o for o in fhir_server.search("Observation")}
    result_ids = [ref["reference"].removeprefix("Observation/") for ref in diagnostic["result"]]
    assert sorted(result_ids) == sorted(observations)
    volumes = {
        observations[i]["bodySite"]["text"]: observations[i]["valueQuantity"] for i in result_ids
    }
    assert volumes["enhancing tumour"]["value"] == 12.5
    assert volumes["oedema"]["value"] == 30.25
    assert {q["system"] for q in volumes.values()} == {"http://unitsofmeasure.org"}
    assert {q["code"] for q in volumes.values()} == {"mL"}
    (device,) = fhir_server.search("Device")
    assert device["version"][0]["value"] == "1.0.0"


def test_resync_adds_nothing(fhir_server: FhirTestServer) -> None:
    config = _config(fhir_server)
    with _client(config) as client:
        sync_snapshot(snapshot(), server=client, config=config)
        writes_after_first = fhir_server.stats()["writes"]
        again = sync_snapshot(snapshot(), server=client, config=config)

    assert again.sent == 0
    assert {w.action for w in again.written} == {"unchanged"}
    assert fhir_server.stats()["writes"] == writes_after_first
    for resource_type in ("Patient", "ImagingStudy", "DiagnosticReport", "Observation"):
        for resource in fhir_server.search(resource_type):
            assert len(fhir_server.history(resource_type, resource["id"])) == 1


def test_reanalysis_amends_the_report_in_place(fhir_server: FhirTestServer) -> None:
    config = _config(fhir_server)
    first = snapshot()
    with _client(config) as client:
        sync_snapshot(first, server=client, config=config)
        (before,) = fhir_server.search("DiagnosticReport")
        second = reanalysed(first, job_id="job-2", volumes=(14.0, 28.0))
        sync_snapshot(second, server=client, config=config)
        (after,) = fhir_server.search("DiagnosticReport")
        resync = sync_snapshot(second, server=client, config=config)

    assert after["id"] == before["id"]
    assert after["status"] == "amended"
    assert {"system": mapping.JOB_SYSTEM, "value": "job-2"} in after["identifier"]
    assert "14.0 mL" in after["conclusion"]
    assert len(fhir_server.history("DiagnosticReport", after["id"])) == 2
    observations = fhir_server.search("Observation")
    assert len(observations) == 2
    assert {o["status"] for o in observations} == {"amended"}
    assert sorted(o["valueQuantity"]["value"] for o in observations) == [14.0, 28.0]
    assert resync.sent == 0


def test_injected_server_errors_are_classified(fhir_server: FhirTestServer) -> None:
    config = _config(fhir_server)
    with _client(config) as client:
        fhir_server.fail(status=503, count=1)
        with pytest.raises(FhirTransientError) as transient:
            sync_snapshot(snapshot(), server=client, config=config)
        assert transient.value.status == 503
        fhir_server.fail(status=400, count=1)
        with pytest.raises(FhirRejectedError, match="injected failure 400") as rejected:
            sync_snapshot(snapshot(), server=client, config=config)
        assert rejected.value.status == 400


def test_server_validation_message_reaches_the_error(fhir_server: FhirTestServer) -> None:
    config = _config(fhir_server)
    with _client(config) as client, pytest.raises(FhirRejectedError) as rejected:
        client.create("Patient", {"resourceType": "Patient", "colour": "blue"}, identifier="x|1")
    assert "colour" in str(rejected.value)
    assert rejected.value.status == 400


def test_unreachable_server_is_transient() -> None:
    config = load_config({"FHIR_BASE_URL": "http://127.0.0.1:9/fhir", "FHIR_TIMEOUT_S": "2"})
    with _client(config) as client, pytest.raises(FhirTransientError):
        client.find("Patient", "x|1")


def test_bearer_token_is_sent() -> None:
    with FhirTestServer.start(token="s3cret") as server:
        with _client(_config(server, FHIR_AUTH="bearer", FHIR_TOKEN="wrong")) as client:
            with pytest.raises(FhirRejectedError) as refused:
                client.find("Patient", "x|1")
            assert refused.value.status == 401
        with _client(_config(server, FHIR_AUTH="bearer", FHIR_TOKEN="s3cret")) as client:
            assert client.find("Patient", "x|1") is None


def test_oauth2_client_credentials_token_is_cached() -> None:
    with FhirTestServer.start(client_id="neuronova", client_secret="pw") as server:
        config = _config(
            server,
            FHIR_AUTH="oauth2",
            FHIR_CLIENT_ID="neuronova",
            FHIR_CLIENT_SECRET="pw",
            FHIR_TOKEN_URL=server.token_url,
        )
        with _client(config) as client:
            report = sync_snapshot(snapshot(), server=client, config=config)
            sync_snapshot(snapshot(), server=client, config=config)
        assert report.sent == 7
        assert server.stats()["tokens"] == 1
