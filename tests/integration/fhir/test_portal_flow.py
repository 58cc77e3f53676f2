"""From the portal's own job-event service to the FHIR server: the portal records a finished AI
job, its on_commit hook queues the sync, and the EMR ends up with the patient, the imaging study,
the report and one observation per label, `preliminary` until a radiologist signs, `final` at the
signature, `amended` after a later edit; a re-analysis is preliminary again until signed."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from authz.identity import orthanc_id
from clinical import review_services
from clinical.models import AIJob, JobState
from clinical.services import record_job_event
from fhir_sync import hooks, store, tasks
from fhir_sync.config import load_config
from fhir_sync.models import SyncStatus
from fhir_sync.source import load_snapshot
from neuronova_contracts.jobs import JobEvent
from neuronova_contracts.signing import KEY_ENV, signed
from neuronova_portal.celery import app

from tests.support.fhir_portal import add_done_job, add_study
from tests.support.fhir_server import FhirTestServer

pytestmark = pytest.mark.django_db

STUDY_UID = "1.2.826.0.1.3680043.8.498.501"
NO_ORTHANC: Any = None  # the study is already mirrored, so the service never asks Orthanc
DICOMWEB = "http://127.0.0.1:8080/api/pacs/dicom-web"


@pytest.fixture
def wired(fhir_server: FhirTestServer, monkeypatch: pytest.MonkeyPatch) -> FhirTestServer:
    """The hook's Celery message is delivered at once, in-process, to the real task."""
    config = load_config({"FHIR_BASE_URL": fhir_server.base_url, "FHIR_DICOMWEB_URL": DICOMWEB})
    monkeypatch.setattr(hooks, "get_config", lambda: config)
    monkeypatch.setattr(tasks, "get_config", lambda: config)
    sent: list[str] = []

    def send_task(name: str, *, kwargs: dict[str, Any], queue: str) -> None:
        assert (name, queue) == ("neuronova.fhir.sync_study", "portal")
        sent.append(kwargs["study_uid"])
        app.tasks[name].apply(kwargs=signed(os.environ[KEY_ENV], name, kwargs)).get()

    monkeypatch.setattr(hooks, "current_app", SimpleNamespace(send_task=send_task))
    return fhir_server


def _event(job_id: str, volumes: dict[str, float], hour: int) -> JobEvent:
    return JobEvent(
        job_id=job_id,
        study_uid=STUDY_UID,
        orthanc_study_id=orthanc_id("MRN-0001", STUDY_UID),  # add_study's patient
        state=JobState.DONE,
        model_id="brain-tumour",
        model_version="1.0.0",
        seg_series_uid=f"{STUDY_UID}.99",
        volumes_ml=volumes,
        at=datetime(2026, 11, 26, hour, 0, tzinfo=UTC).isoformat(),
    )


def _sign(decision: str, impression: str, capture: Callable[..., Any]) -> None:
    job = AIJob.objects.filter(state=JobState.DONE).order_by("-event_at").first()
    assert job is not None
    with capture(execute=True):
        review_services.sign(
            job=job, reviewer="radiologist", decision=decision, impression=impression
        )


def test_job_event_reaches_the_emr_preliminary_until_signed_then_final_then_amended(
    wired: FhirTestServer,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    add_study(study_uid=STUDY_UID)
    with django_capture_on_commit_callbacks(execute=True):
        record_job_event(
            orthanc=NO_ORTHANC, event=_event("j1", {"tumour": 10.25, "oedema": 3.5}, 9)
        )

    (patient,) = wired.search("Patient")
    (study,) = wired.search("ImagingStudy")
    (report,) = wired.search("DiagnosticReport")
    assert patient["identifier"][0]["value"] == "MRN-0001"
    assert patient["birthDate"] == "1970-01-02"
    assert study["subject"] == {"reference": f"Patient/{patient['id']}"}
    assert sorted(s["uid"] for s in study["series"]) == [f"{STUDY_UID}.1", f"{STUDY_UID}.99"]
    assert report["status"] == "preliminary"  # nobody signed the AI's result yet
    assert "resultsInterpreter" not in report
    assert report["subject"] == {"reference": f"Patient/{patient['id']}"}
    volumes = {o["bodySite"]["text"]: o["valueQuantity"] for o in wired.search("Observation")}
    assert volumes == {
        "oedema": {"value": 3.5, "unit": "mL", "system": "http://unitsofmeasure.org", "code": "mL"},
        "tumour": {
            "value": 10.25,
            "unit": "mL",
            "system": "http://unitsofmeasure.org",
            "code": "mL",
        },
    }
    assert {o["status"] for o in wired.search("Observation")} == {"preliminary"}
    state = store.state_of(study_uid=STUDY_UID)
    assert state is not None
    assert state.status == SyncStatus.SYNCED

    _sign("accepted", "Enhancing lesion, left frontal.", django_capture_on_commit_callbacks)
    (final,) = wired.search("DiagnosticReport")
    assert (final["id"], final["status"]) == (report["id"], "final")
    assert final["resultsInterpreter"] == [{"display": "radiologist"}]
    assert final["conclusion"].startswith("Enhancing lesion, left frontal.")
    assert {o["status"] for o in wired.search("Observation")} == {"final"}

    # a later edit: an edited SEG (its volumes counted by the portal), signed again
    job = AIJob.objects.get(job_id="j1")
    review_services.record_edited_seg(
        study=job.study,
        series_uid=f"{STUDY_UID}.77",
        sop_instance_uid=f"{STUDY_UID}.77.1",
        orthanc_instance_id="",
        referenced_series_uids=[f"{STUDY_UID}.99"],
        volumes_ml={"tumour": 12.0, "oedema": 4.0},
        content_creator="radiologist",
        created_by="radiologist",
        stored_at=job.event_at + timedelta(minutes=30),
    )
    _sign("edited", "Lesion larger than the AI measured.", django_capture_on_commit_callbacks)
    (amended,) = wired.search("DiagnosticReport")
    assert (amended["id"], amended["status"]) == (report["id"], "amended")
    observations = wired.search("Observation")
    assert {o["status"] for o in observations} == {"amended"}
    assert sorted(o["valueQuantity"]["value"] for o in observations) == [4.0, 12.0]
    assert {o["derivedFrom"][0]["identifier"]["value"] for o in observations} == {
        f"urn:oid:{STUDY_UID}.77"
    }
    assert len(wired.history("DiagnosticReport", report["id"])) == 3

    # a re-analysis is a new, unsigned result: preliminary again until signed, then amended
    with django_capture_on_commit_callbacks(execute=True):
        record_job_event(orthanc=NO_ORTHANC, event=_event("j2", {"tumour": 8.0, "oedema": 3.0}, 11))
    (again,) = wired.search("DiagnosticReport")
    assert (again["id"], again["status"]) == (report["id"], "preliminary")
    assert sorted(o["valueQuantity"]["value"] for o in wired.search("Observation")) == [3.0, 8.0]
    _sign("accepted", "Smaller after treatment.", django_capture_on_commit_callbacks)
    (resigned,) = wired.search("DiagnosticReport")
    assert resigned["status"] == "amended"  # the study's report was final before
    assert len(wired.search("Patient")) == 1
    assert len(wired.search("ImagingStudy")) == 1


def test_snapshot_takes_the_latest_done_job_per_model() -> None:
    study = add_study(study_uid=STUDY_UID)
    at = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    add_done_job(study, job_id="old", volumes_ml={"tumour": 1.0}, at=at)
    add_done_job(study, job_id="new", volumes_ml={"tumour": 2.0}, at=at.replace(hour=11))
    AIJob.objects.create(
        job_id="later-failure",
        study=study,
        state=JobState.FAILED,
        model_id="brain-tumour",
        event_at=at.replace(hour=12),
    )
    snapshot = load_snapshot(study_uid=STUDY_UID)
    assert snapshot is not None
    (result,) = snapshot.results
    assert result.job_id == "new"
    assert result.labels[0].volume_ml == 2.0
    assert snapshot.study.series[1].number == 99
    assert snapshot.patient.sex == "F"
    assert load_snapshot(study_uid="1.2.3.none") is None


def test_snapshot_labels_carry_the_manifest_snomed_codes() -> None:
    study = add_study(study_uid=STUDY_UID)
    job = add_done_job(
        study,
        job_id="coded",
        volumes_ml={"Enhancing tumour": 4.0, "not in the manifest": 1.0},
        at=datetime(2026, 11, 26, 9, 0, tzinfo=UTC),
    )
    root = Path(__file__).resolve().parents[3]
    shipped = json.loads((root / "models" / "nn-brain-tumour-synth" / "manifest.json").read_text())
    job.model_id, job.model_version = shipped["model_id"], shipped["version"]  # the shipped one
    job.save()
    snapshot = load_snapshot(study_uid=STUDY_UID)
    assert snapshot is not None
    (result,) = snapshot.results
    codes = {label.label: label.snomed_code for label in result.labels}
    assert codes == {"Enhancing tumour": "108369006", "not in the manifest": ""}
    job.model_version = "0.9.0"  # another version's labels may mean something else: no code
    job.save()
    snapshot = load_snapshot(study_uid=STUDY_UID)
    assert snapshot is not None
    assert {label.snomed_code for label in snapshot.results[0].labels} == {""}
