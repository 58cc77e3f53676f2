"""Unit tests of the clinical mirror: Celery tasks (idempotent, ordered), reports API."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import pytest
from accounts import services as account_services
from archive.orthanc import OrthancNotFound
from clinical import labels, tasks
from clinical.models import AIJob, Series, Study
from clinical.reports import report_body
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests.support.models import shipped_manifest_raw
from tests.support.portal_fakes import (
    FakeOrthanc,
    bearer,
    orthanc_series_json,
    orthanc_study_json,
)

pytestmark = pytest.mark.django_db

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
            self.qc_score = 0.41 if volumes else None
            self.needs_review = bool(volumes)

    body = report_body(latest=Job("running", {}), latest_done=Job("done", {"b": 2, "a": 1.5}))
    assert body["status"] == "running"
    assert [label["label"] for label in body["labels"]] == ["a", "b"]
    assert body["labels"][0]["volume_ml"] == 1.5
    assert (body["qc_score"], body["needs_review"]) == (0.41, True)
    empty = report_body(latest=None, latest_done=None)
    assert empty == {
        "status": "none",
        "model_id": None,
        "model_version": None,
        "seg_series_uid": None,
        "qc_score": None,
        "needs_review": False,
        "labels": [],
        "volumes_source": None,
        "review": None,
    }


def test_quality_control_of_a_done_job_reaches_the_report(
    archive: FakeOrthanc, fhir_calls: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    """The worker's QC fields are kept with the job; an event without them (an older worker,
    the plugin's queued event) leaves the job unscored and not flagged."""
    account_services.seed_dev_users()
    flagged = event(
        "done",
        "2026-11-26T10:00:05+00:00",
        seg_series_uid="1.2.3",
        volumes_ml={"Enhancing tumour": 2.5},
        qc_score=0.42,
        needs_review=True,
        qc={"score": 0.42, "flip_dice": 0.61, "entropy": 0.31, "threshold": 0.6},
    )
    with django_capture_on_commit_callbacks(execute=True):
        tasks.job_event.run(**event("queued", "2026-11-26T10:00:00+00:00"))
        queued = AIJob.objects.get(job_id="job-1")
        assert (queued.qc_score, queued.needs_review, queued.qc) == (None, False, {})
        tasks.job_event.run(**flagged)
    job = AIJob.objects.get(job_id="job-1")
    assert (job.qc_score, job.needs_review) == (0.42, True)
    assert job.qc["flip_dice"] == 0.61
    client = Client()
    auth = bearer(client, "radiologist")
    report = json.loads(client.get(f"/api/studies/{STUDY}/report", **auth).content)  # type: ignore[arg-type]
    assert (report["qc_score"], report["needs_review"]) == (0.42, True)
    jobs = json.loads(client.get(f"/api/studies/{STUDY}/jobs", **auth).content)  # type: ignore[arg-type]
    assert jobs[0]["needs_review"] is True
    assert jobs[0]["qc_score"] == 0.42


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
    auth = bearer(client, "clinician")
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


def _manifest(directory: Path, model_id: str, version: str) -> None:
    """A valid manifest (the shipped one's shape) with an SCT-coded and a locally coded label."""
    (directory / model_id).mkdir(parents=True)
    manifest = {**shipped_manifest_raw(), "model_id": model_id, "version": version}
    coded, uncoded = manifest["labels"][:2]
    manifest["labels"] = [
        {**coded, "name": "Oedema", "color_rgb": [60, 200, 80]},
        {**uncoded, "name": "Uncoded", "type": {"scheme": "99LOCAL", "code": "1", "meaning": "x"}},
    ]
    (directory / model_id / "manifest.json").write_text(json.dumps(manifest))


def test_label_codes_come_from_the_manifest_of_exactly_that_model_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        settings, "CONFIG", dataclasses.replace(settings.CONFIG, models_dir=tmp_path)
    )
    _manifest(tmp_path, "m1", "2.0.0")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "manifest.json").write_text("{not json")
    known = labels.labels_for("m1", "2.0.0")
    assert known["Oedema"].snomed_code == shipped_manifest_raw()["labels"][0]["type"]["code"]
    assert known["Oedema"].color_rgb == (60, 200, 80)
    assert known["Uncoded"].snomed_code is None
    assert labels.labels_for("m1", "1.9.0") == {}  # another version's codes are never shown
    assert labels.labels_for("unknown", "2.0.0") == {}
    assert labels.labels_for("../m1", "2.0.0") == {}
    assert labels.labels_for("broken", "") == {}


def test_report_api_fills_codes_and_colours_from_the_demo_model_manifest(
    archive: FakeOrthanc, fhir_calls: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    manifest = json.loads(
        (settings.CONFIG.models_dir / "nn-brain-tumour-synth" / "manifest.json").read_text()
    )
    account_services.seed_dev_users()
    with django_capture_on_commit_callbacks(execute=True):
        tasks.job_event.run(
            **event(
                "done",
                "2026-11-26T10:00:05+00:00",
                model_id="nn-brain-tumour-synth",
                model_version=manifest["version"],
                seg_series_uid="1.2.3",
                volumes_ml={"Enhancing tumour": 2.5, "Not a label of this model": 1.0},
            )
        )
    client = Client()
    auth = bearer(client, "radiologist")
    report = json.loads(client.get(f"/api/studies/{STUDY}/report", **auth).content)  # type: ignore[arg-type]
    by_name = {label["label"]: label for label in report["labels"]}
    assert by_name["Enhancing tumour"]["snomed_code"] == "108369006"  # SCT Neoplasm
    assert by_name["Enhancing tumour"]["color_rgb"] == [250, 210, 40]
    assert by_name["Enhancing tumour"]["volume_ml"] == 2.5
    assert by_name["Not a label of this model"]["snomed_code"] is None
    assert by_name["Not a label of this model"]["color_rgb"] is None


def test_reanalyze_answers_the_queued_job_and_later_events_supersede_it(
    archive: FakeOrthanc, fhir_calls: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    account_services.seed_dev_users()
    with django_capture_on_commit_callbacks(execute=True):
        tasks.study_stable.run(orthanc_study_id="o-1", study_uid=STUDY)
    answers = iter(
        [
            {"job_id": "s:m:1:r1", "state": "queued"},
            {"job_id": "s:m:1:r2", "state": "skipped", "reason": "no T1c"},
            {"detail": "no job"},
        ]
    )
    archive.reanalyze = lambda orthanc_study_id: next(answers)  # type: ignore[method-assign]
    client = Client()
    auth = bearer(client, "radiologist")  # re-analysis is a radiologist's or admin's order
    url = f"/api/studies/{STUDY}/reanalyze"
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(url, **auth)  # type: ignore[arg-type]
    assert first.status_code == 202
    body = json.loads(first.content)
    assert body["job_id"] == "s:m:1:r1"
    assert body["state"] == body["status"] == "queued"
    assert body["plugin"] == {"job_id": "s:m:1:r1", "state": "queued"}
    jobs = json.loads(client.get(f"/api/studies/{STUDY}/jobs", **auth).content)  # type: ignore[arg-type]
    assert [j["job_id"] for j in jobs] == ["s:m:1:r1"]
    # The worker's event, however soon it comes, is newer than the row the request made.
    with django_capture_on_commit_callbacks(execute=True):
        tasks.job_event.run(
            **{**event("running", timezone.now().isoformat()), "job_id": "s:m:1:r1"}
        )
    assert AIJob.objects.get(job_id="s:m:1:r1").state == "running"
    skipped = json.loads(client.post(url, **auth).content)  # type: ignore[arg-type]
    assert (skipped["job_id"], skipped["state"], skipped["reason"]) == (
        "s:m:1:r2",
        "skipped",
        "no T1c",
    )
    assert client.post(url, **auth).status_code == 502  # type: ignore[arg-type]
