"""Unit tests of the clinical mirror: Celery tasks (idempotent, ordered), reports API."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from accounts import services as account_services
from clinical import tasks
from clinical.models import AIJob, Series, Study
from clinical.reports import report_body
from django.core.management import call_command
from django.test import Client
from pacs.orthanc import OrthancNotFound

from tests.support.portal import DEV_PASSWORDS
from tests.unit.portal.conftest import FakeOrthanc, orthanc_series_json, orthanc_study_json

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

STUDY = "1.2.826.0.7.1"


@pytest.fixture
def archive(fake_orthanc: FakeOrthanc, monkeypatch: pytest.MonkeyPatch) -> FakeOrthanc:
    fake_orthanc.studies["o-1"] = orthanc_study_json(
        orthanc_id="o-1", study_uid=STUDY, patient_id="NN-DEMO-0001"
    )
    fake_orthanc.series["o-1"] = [
        orthanc_series_json(orthanc_id="os-1", series_uid=f"{STUDY}.1", modality="MR"),
        orthanc_series_json(orthanc_id="os-2", series_uid=f"{STUDY}.2", modality="SEG"),
    ]
    fake_orthanc.close = lambda: None  # type: ignore[attr-defined]
    monkeypatch.setattr(tasks, "_orthanc", lambda: fake_orthanc)
    return fake_orthanc


@pytest.fixture
def fhir_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from fhir_sync import hooks  # noqa: PLC0415

    calls: list[str] = []
    monkeypatch.setattr(hooks, "on_study_updated", lambda *, study_uid: calls.append(study_uid))
    return calls


def event(state: str, at: str, **extra: Any) -> dict[str, Any]:
    return {
        "job_id": "job-1",
        "study_uid": STUDY,
        "orthanc_study_id": "o-1",
        "state": state,
        "reason": "",
        "model_id": "brats-demo",
        "model_version": "1.0.0",
        "seg_series_uid": "",
        "volumes_ml": {},
        "at": at,
        **extra,
    }


def test_study_stable_mirrors_and_is_idempotent(
    archive: FakeOrthanc, fhir_calls: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.study_stable.run(orthanc_study_id="o-1", study_uid=STUDY) == STUDY
        tasks.study_stable.run(orthanc_study_id="o-1", study_uid=STUDY)
    study = Study.objects.get(study_uid=STUDY)
    assert study.patient.patient_id == "NN-DEMO-0001"
    assert study.modalities == "MR\\SEG"
    assert study.series_count == 2
    assert Series.objects.filter(study=study).count() == 2
    assert fhir_calls == [STUDY, STUDY]


def test_job_events_apply_in_time_order_and_replays_change_nothing(
    archive: FakeOrthanc, fhir_calls: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    done = event(
        "done",
        "2026-11-26T10:00:05+00:00",
        seg_series_uid="1.2.3.4",
        volumes_ml={"enhancing tumour": 12.5, "oedema": 30.25},
    )
    with django_capture_on_commit_callbacks(execute=True):
        tasks.job_event.run(**event("queued", "2026-11-26T10:00:00+00:00"))
        tasks.job_event.run(**done)
        # a late 'running' event (older than 'done') must not win
        assert tasks.job_event.run(**event("running", "2026-11-26T10:00:02+00:00")) == "done"
        tasks.job_event.run(**done)  # replay
    job = AIJob.objects.get(job_id="job-1")
    assert job.state == "done"
    assert job.volumes_ml == {"enhancing tumour": 12.5, "oedema": 30.25}
    assert AIJob.objects.count() == 1
    assert set(fhir_calls) == {STUDY}  # first sync of the unknown study + each recorded event
    assert tasks.job_event.run(**event("exploded", "2026-11-26T10:00:09+00:00")) == "ignored"


def test_task_names_and_delivery_options_match_the_contract() -> None:
    assert tasks.study_stable.name == "neuronova.portal.study_stable"
    assert tasks.job_event.name == "neuronova.portal.job_event"
    assert tasks.job_event.acks_late
    assert tasks.study_stable.acks_late


def test_report_body_uses_newest_done_job_and_newest_status() -> None:
    class Job:
        def __init__(self, state: str, volumes: dict[str, float]) -> None:
            self.state = state
            self.model_id = "m"
            self.model_version = "2"
            self.seg_series_uid = "1.2.3" if volumes else ""
            self.volumes_ml = volumes

    body = report_body(latest=Job("running", {}), latest_done=Job("done", {"b": 2, "a": 1.5}))
    assert body["status"] == "running"
    assert [label["label"] for label in body["labels"]] == ["a", "b"]
    assert body["labels"][0]["volume_ml"] == 1.5
    empty = report_body(latest=None, latest_done=None)
    assert empty == {
        "status": "none",
        "model_id": None,
        "model_version": None,
        "seg_series_uid": None,
        "labels": [],
    }


def test_studies_api_lists_reports_and_filters(
    archive: FakeOrthanc, fhir_calls: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    account_services.seed_dev_users()
    with django_capture_on_commit_callbacks(execute=True):
        tasks.job_event.run(
            **event(
                "done", "2026-11-26T10:00:05+00:00", seg_series_uid="1.2.3", volumes_ml={"x": 1}
            )
        )
    client = Client()
    token = json.loads(
        client.post(
            "/api/auth/token",
            {"username": "clinician", "password": DEV_PASSWORDS["clinician"]},
            content_type="application/json",
        ).content
    )["access"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    listed = json.loads(client.get("/api/studies", **auth).content)  # type: ignore[arg-type]
    assert listed["count"] == 1
    row = listed["results"][0]
    assert row["ai_status"] == "done"
    assert row["modalities"] == ["MR", "SEG"]
    assert row["patient_id"] == "NN-DEMO-0001"
    none = json.loads(client.get("/api/studies?ai_status=failed", **auth).content)  # type: ignore[arg-type]
    assert none["count"] == 0
    report = json.loads(client.get(f"/api/studies/{STUDY}/report", **auth).content)  # type: ignore[arg-type]
    assert report["seg_series_uid"] == "1.2.3"
    assert report["labels"][0]["volume_ml"] == 1.0
    detail = json.loads(client.get(f"/api/studies/{STUDY}", **auth).content)  # type: ignore[arg-type]
    assert len(detail["series"]) == 2
    assert [j["state"] for j in detail["jobs"]] == ["done"]
    patients = json.loads(client.get("/api/patients", **auth).content)  # type: ignore[arg-type]
    assert [p["patient_id"] for p in patients["results"]] == ["NN-DEMO-0001"]


def test_sync_studies_command_mirrors_every_orthanc_study(
    archive: FakeOrthanc, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clinical.management.commands import sync_studies  # noqa: PLC0415

    archive.all_study_ids = lambda: iter(["o-1"])  # type: ignore[attr-defined]
    monkeypatch.setattr(sync_studies, "OrthancClient", lambda *_a: archive)
    out = io.StringIO()
    call_command("sync_studies", stdout=out)
    assert "synced 1 studies, 0 failed" in out.getvalue()
    assert Study.objects.filter(study_uid=STUDY).exists()


def test_tasks_do_not_retry_a_study_orthanc_no_longer_has(
    archive: FakeOrthanc, monkeypatch: pytest.MonkeyPatch
) -> None:
    def gone(_orthanc_study_id: str) -> dict[str, Any]:
        raise OrthancNotFound("GET /studies/o-9: HTTP 404")

    monkeypatch.setattr(archive, "study", gone)
    monkeypatch.setattr(tasks.study_stable, "retry", lambda **_k: pytest.fail("retried a 404"))
    with pytest.raises(OrthancNotFound):
        tasks.study_stable(orthanc_study_id="o-9", study_uid="1.2.9")
