"""FHIR on the real native stack: a generated study C-STOREd into Orthanc goes
through the plugin, inference and the portal and ends on the FHIR server as Patient, ImagingStudy,
DiagnosticReport and Observations; re-sending adds nothing; re-analysis amends the report; and
Debian's Prometheus, with the rendered native config, finds every target up and the key series.

The stack here is this module's own (`python -m stack up` with FHIR_BASE_URL pointing at the
in-memory FHIR server): the session stack of tests/conftest.py runs without FHIR sync.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from celery import Celery
from neuronova_contracts.signing import signed

from observability.prometheus.render import TEMPLATE, render
from tests.support.fhir_server import FhirTestServer
from tests.support.stack import RunningStack, free_ports, native_stack
from tests.support.tools import require_tool

ROOT = Path(__file__).resolve().parents[3]
PIPELINE_DEADLINE_S = 300.0


@dataclass
class World:
    stack: RunningStack
    fhir: FhirTestServer
    study_uid: str


def _wait_for(what: str, probe: Callable[[], Any], deadline_s: float = PIPELINE_DEADLINE_S) -> Any:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with FhirTestServer.start() as fhir:
        (worker_metrics_port,) = free_ports(1)
        extra = {
            "FHIR_BASE_URL": fhir.base_url,
            "FHIR_DICOMWEB_URL": "http://127.0.0.1/api/pacs/dicom-web",
            # The inference worker's own /metrics (job outcomes), scraped as `inference-worker`.
            "NEURONOVA_WORKER_METRICS_PORT": str(worker_metrics_port),
        }
        with native_stack(extra) as stack:
            study_uid = stack.send_demo_study()
            _wait_for("the AI report on the FHIR server", lambda: fhir.search("DiagnosticReport"))
            yield World(stack, fhir, study_uid)


def test_generated_study_ends_on_the_fhir_server(world: World) -> None:
    fhir = world.fhir
    (study,) = fhir.search("ImagingStudy")
    assert {"system": "urn:dicom:uid", "value": f"urn:oid:{world.study_uid}"} in study["identifier"]
    (patient,) = fhir.search("Patient")
    assert study["subject"] == {"reference": f"Patient/{patient['id']}"}
    assert study["numberOfInstances"] >= 80
    (report,) = fhir.search("DiagnosticReport")
    assert report["status"] == "preliminary"  # the AI's result, not yet signed
    assert report["subject"] == {"reference": f"Patient/{patient['id']}"}
    assert report["imagingStudy"][0]["reference"] == f"ImagingStudy/{study['id']}"
    observations = {o["id"]: o for o in fhir.search("Observation")}
    assert len(observations) >= 1
    assert sorted(r["reference"].removeprefix("Observation/") for r in report["result"]) == sorted(
        observations
    )
    for observation in observations.values():
        quantity = observation["valueQuantity"]
        assert (quantity["system"], quantity["code"], quantity["unit"]) == (
            "http://unitsofmeasure.org",
            "mL",
            "mL",
        )
        assert quantity["value"] >= 0
        # The label's SNOMED CT code, from the shipped model's manifest.
        (coding,) = observation["bodySite"]["coding"]
        assert coding["system"] == "http://snomed.info/sct"
        assert coding["code"] in {"6574001", "79654002", "108369006"}
    # The report and each observation name the AI's SEG series (a DICOM UID, not the source's).
    seg = report["imagingStudy"][0]["identifier"]["value"]
    assert seg.startswith("urn:oid:1.")
    assert seg != f"urn:oid:{world.study_uid}"
    for observation in observations.values():
        assert observation["derivedFrom"][0]["identifier"]["value"] == seg


def test_resending_adds_nothing(world: World) -> None:
    before = world.fhir.stats()
    app = Celery(broker=world.stack.config.redis_url, set_as_current=False)
    try:
        app.send_task(
            "neuronova.fhir.sync_study",
            kwargs=signed(
                world.stack.config.task_key,
                "neuronova.fhir.sync_study",
                {"study_uid": world.study_uid},
            ),
            queue="portal",
        )
    finally:
        app.close()
    # The task looks every resource up (7 searches) and finds nothing to send.
    _wait_for("the re-sync", lambda: world.fhir.stats()["requests"] >= before["requests"] + 7, 60)
    time.sleep(2)
    assert world.fhir.stats()["writes"] == before["writes"]
    assert len(world.fhir.search("DiagnosticReport")) == 1


def _post(url: str, token: str) -> int:
    request = urllib.request.Request(
        url, data=b"", method="POST", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(response.status)


def test_reanalysis_replaces_the_report_in_place(world: World) -> None:
    (first,) = world.fhir.search("DiagnosticReport")
    token = world.stack.token("radiologist")
    assert _post(f"{world.stack.url}/api/studies/{world.study_uid}/reanalyze", token) == 202

    def replaced() -> dict[str, Any] | None:
        reports = world.fhir.search("DiagnosticReport")
        jobs = [i["value"] for r in reports for i in r["identifier"] if "ai-job" in i["system"]]
        return reports[0] if jobs and jobs != _jobs(first) else None

    report = _wait_for("the re-analysed report", replaced)
    assert report["id"] == first["id"]
    assert report["status"] == "preliminary"  # a new AI result: unsigned until reviewed
    assert len(world.fhir.search("DiagnosticReport")) == 1
    assert len(world.fhir.history("DiagnosticReport", report["id"])) >= 2


def _prometheus_query(base: str, query: str) -> list[dict[str, Any]]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=10) as response:
        result: list[dict[str, Any]] = json.loads(response.read())["data"]["result"]
    return result


def test_debian_prometheus_scrapes_the_stack(world: World, tmp_path: Path) -> None:
    prometheus = require_tool("prometheus", "prometheus")
    (port,) = free_ports(1)
    stack = world.stack
    env = {
        **stack.env,
        "PROMETHEUS_PORT": str(port),
        "ORTHANC_USERNAME": stack.orthanc_auth[0],
        "ORTHANC_PASSWORD": stack.orthanc_auth[1],
    }
    config = render(yaml.safe_load(TEMPLATE.read_text()), env, rules_dir=TEMPLATE.parent / "rules")
    config["global"]["scrape_interval"] = "1s"
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    process = subprocess.Popen(
        [
            prometheus,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def up() -> dict[str, float]:
            try:
                rows = _prometheus_query(base, "up")
            except OSError:
                return {}
            return {row["metric"]["job"]: float(row["value"][1]) for row in rows}

        wanted = {"prometheus", "portal", "orthanc", "inference", "inference-worker"}
        jobs = _wait_for("scrapes", lambda: (u := up()) and wanted <= set(u) and u, 60)
        assert jobs == dict.fromkeys(wanted, 1.0)

        def total(query: str) -> float:
            return sum(float(row["value"][1]) for row in _prometheus_query(base, query))

        assert total("neuronova_ingest_instances_seen_total") >= 80
        assert total("neuronova_ingest_instances_transcoded_total") >= 80
        assert total('neuronova_inference_jobs_total{state="done"}') >= 1
        assert total('neuronova_fhir_sync_studies{status="synced"}') == 1
        assert total("neuronova_fhir_sync_resources_sent_total") >= 6
        assert _prometheus_query(base, "neuronova_fhir_sync_lag_seconds")
        assert {
            row["metric"]["queue"]
            for row in _prometheus_query(base, "neuronova_celery_queue_length")
        } == {"inference", "portal"}
    finally:
        process.terminate()
        process.wait(timeout=30)


def _jobs(report: dict[str, Any]) -> list[str]:
    return [i["value"] for i in report["identifier"] if "ai-job" in i["system"]]
