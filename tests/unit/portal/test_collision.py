"""Unit tests of study identity and StudyInstanceUID conflicts in the portal (Orthanc is a fake
that keys resources by PatientID + UIDs as Orthanc does; tests/security attacks the real stack).
"""

from __future__ import annotations

import io
import json
from typing import Any

import pydicom
import pytest
from accounts import services as account_services
from accounts.models import User
from audit.models import AuditEvent
from authz.identity import orthanc_id
from clinical import services, tasks
from clinical.models import AIJob, Study
from django.test import Client
from prometheus_client import REGISTRY

from tests.support.portal import make_mr
from tests.support.portal_fakes import FakeOrthanc, bearer

pytestmark = pytest.mark.django_db

S, SE, I1 = "1.2.826.0.5.1", "1.2.826.0.5.1.1", "1.2.826.0.5.1.1.1"
VICTIM, IMPOSTOR = "NN-VICTIM", "NN-DEMO-0001"  # the impostor is clinician's own patient
CORNERSTONE = "multipart/related; type=application/octet-stream; transfer-syntax=*"


@pytest.fixture
def archive(fake_orthanc: FakeOrthanc, monkeypatch: pytest.MonkeyPatch) -> FakeOrthanc:
    account_services.seed_dev_users()
    account_services.assign_patient(user=User.objects.get(username="clinician2"), patient_id=VICTIM)
    fake_orthanc.close = lambda: None  # type: ignore[attr-defined]
    monkeypatch.setattr(tasks, "_orthanc", lambda: fake_orthanc)
    return fake_orthanc


def _arrive(archive: FakeOrthanc, patient_id: str, series_uid: str = SE, sop_uid: str = I1) -> str:
    """An instance arrives (C-STORE or REST) and the plugin's study_arrived reaches the portal."""
    archive.add(patient_id=patient_id, study_uid=S, series_uid=series_uid, sop_uid=sop_uid)
    study_id = orthanc_id(patient_id, S)
    tasks.study_arrived.run(orthanc_study_id=study_id)
    return study_id


def _get(client: Client, user: str, path: str, accept: str = "") -> Any:
    headers = bearer(client, user)
    if accept:
        headers["HTTP_ACCEPT"] = accept
    return client.get(path, **headers)  # type: ignore[arg-type]


def test_a_later_study_reusing_the_uid_is_a_conflict_that_never_replaces_the_owner(
    archive: FakeOrthanc, django_capture_on_commit_callbacks: Any
) -> None:
    victim = _arrive(archive, VICTIM)
    with django_capture_on_commit_callbacks(execute=True):
        impostor = _arrive(archive, IMPOSTOR, f"{SE}.9", f"{SE}.9.1")
        tasks.study_stable.run(orthanc_study_id=impostor)  # and again: still a conflict
        tasks.study_stable.run(orthanc_study_id=victim)
    owner = Study.objects.get(orthanc_study_id=victim)
    conflict = Study.objects.get(orthanc_study_id=impostor)
    assert (owner.claimed_uid, owner.patient.patient_id) == (S, VICTIM)
    assert conflict.is_conflict
    assert conflict.conflict_with == owner
    assert conflict.patient.patient_id == IMPOSTOR
    audits = AuditEvent.objects.filter(action="study-conflict")
    assert [(a.study_uid, a.allowed) for a in audits] == [(S, False)]  # once, at detection
    assert REGISTRY.get_sample_value("neuronova_study_conflicts") == 1


def test_the_impostors_clinician_reaches_nothing_of_the_victim(archive: FakeOrthanc) -> None:
    _arrive(archive, VICTIM)
    # Every UID of the victim's instance, under the impostor's PatientID.
    _arrive(archive, IMPOSTOR)
    client = Client()
    base = f"/api/pacs/dicom-web/studies/{S}"
    instance = f"{base}/series/{SE}/instances/{I1}"
    for path in (
        f"{base}/series",
        f"{base}/metadata",
        f"{base}/series/{SE}/metadata",
        f"{instance}/frames/1",
        f"{instance}/thumbnail",
        f"/api/pacs/wado?requestType=WADO&studyUID={S}&seriesUID={SE}&objectUID={I1}",
        f"/api/studies/{S}",
        f"/api/studies/{S}/report",
        f"/api/studies/{S}/jobs",
    ):
        answer = _get(client, "clinician", path, CORNERSTONE if "frames" in path else "")
        assert answer.status_code == 403, path
        assert "X-Accel-Redirect" not in answer, path
    listed = json.loads(_get(client, "clinician", "/api/studies").content)["results"]
    assert S not in [row["study_uid"] for row in listed]


def test_the_victims_readers_get_the_victims_exact_resources(archive: FakeOrthanc) -> None:
    _arrive(archive, VICTIM)
    _arrive(archive, IMPOSTOR)  # same study, series and instance UIDs, another patient
    client = Client()
    victim_instance = orthanc_id(VICTIM, S, SE, I1)
    frames = f"/api/pacs/dicom-web/studies/{S}/series/{SE}/instances/{I1}/frames/1"
    wado = (
        f"/api/pacs/wado?requestType=WADO&studyUID={S}&seriesUID={SE}&objectUID={I1}"
        "&contentType=application%2Fdicom"
    )
    for user in ("radiologist", "clinician2"):
        frame = _get(client, user, frames, CORNERSTONE)
        assert frame["X-Accel-Redirect"] == (
            f"/internal-orthanc-ranges/instances/{victim_instance}/frames/0/raw"
        )
        file = _get(client, user, wado)
        assert file["X-Accel-Redirect"] == f"/internal-orthanc/instances/{victim_instance}/file"
        series = _get(client, user, f"/api/pacs/dicom-web/studies/{S}/series?limit=5")
        assert series["X-Accel-Redirect"] == (
            f"/internal-orthanc/dicom-web/studies/{S}/series?limit=5&PatientID={VICTIM}"
        )
        detail = json.loads(_get(client, user, f"/api/studies/{S}").content)
        assert detail["study"]["patient_id"] == VICTIM


def test_shared_uids_get_metadata_and_retrieve_built_from_the_owners_instances(
    archive: FakeOrthanc,
) -> None:
    _arrive(archive, VICTIM)
    archive.add(patient_id=VICTIM, study_uid=S, series_uid=SE, sop_uid=f"{SE}.2")
    _arrive(archive, IMPOSTOR)
    client = Client()
    for path in (
        f"/api/pacs/dicom-web/studies/{S}/metadata",
        f"/api/pacs/dicom-web/studies/{S}/series/{SE}/metadata",
    ):
        answer = _get(client, "radiologist", path)
        assert answer.status_code == 200, path
        assert "X-Accel-Redirect" not in answer  # Orthanc's DICOMweb would answer 404 here
        rows = json.loads(answer.content)
        assert sorted(r["00080018"]["Value"][0] for r in rows) == [I1, f"{SE}.2"]
        assert {r["00100020"]["Value"][0] for r in rows} == {VICTIM}
        pixel = rows[0]["7FE00010"]["BulkDataURI"]
        assert pixel.startswith(f"/api/pacs/dicom-web/studies/{S}/series/{SE}/instances/")
    retrieve = _get(client, "radiologist", f"/api/pacs/dicom-web/studies/{S}")
    assert retrieve.streaming
    body = b"".join(retrieve.streaming_content)
    boundary = retrieve["Content-Type"].rsplit("boundary=", 1)[1]
    parts = [p.split(b"\r\n\r\n", 1)[1][:-2] for p in body.split(f"--{boundary}".encode())[1:-1]]
    patients = {str(pydicom.dcmread(io.BytesIO(p)).PatientID) for p in parts}
    assert (len(parts), patients) == (2, {VICTIM})


def test_upload_under_another_patients_uid_is_refused_and_nothing_stored(
    archive: FakeOrthanc,
) -> None:
    # In the archive only (not mirrored yet): the upload asks Orthanc too.
    archive.add(patient_id=VICTIM, study_uid=S, series_uid=SE, sop_uid=I1)
    data, _ = make_mr(patient_id=IMPOSTOR, study_uid=S, series_uid=f"{SE}.7", sop_uid=f"{SE}.7.1")
    client = Client()
    answer = client.post(
        "/api/pacs/upload",
        {"files": [io.BytesIO(data)]},
        **bearer(client, "clinician"),  # type: ignore[arg-type]
    )
    assert answer.status_code == 200
    (result,) = json.loads(answer.content)["results"]
    assert result["status"] == "rejected"
    assert result["reason"] == "StudyInstanceUID already belongs to another patient's study"
    assert archive.stored == []
    assert AuditEvent.objects.filter(action="study-conflict", username="clinician").count() == 1


def test_a_job_event_of_the_impostor_never_touches_the_victims_job(
    archive: FakeOrthanc,
) -> None:
    victim = _arrive(archive, VICTIM)
    impostor = _arrive(archive, IMPOSTOR, f"{SE}.9", f"{SE}.9.1")

    def event(study: str, job: str, state: str, at: str) -> dict[str, Any]:
        return {"job_id": job, "study_uid": S, "orthanc_study_id": study, "state": state, "at": at}

    done = event(victim, f"{victim}:m:1", "done", "2026-01-01T10:00:00+00:00")
    tasks.job_event.run(**done, seg_series_uid="1.2.3", volumes_ml={"oedema": 3.5})
    tasks.job_event.run(
        **event(impostor, f"{impostor}:m:1", "skipped", "2026-01-01T10:05:00+00:00")
    )
    # An old-style id (StudyInstanceUID-based) aimed at the victim's job from the other study:
    assert (
        tasks.job_event.run(
            **event(impostor, f"{victim}:m:1", "skipped", "2026-01-01T11:00:00+00:00")
        )
        == "ignored"
    )
    job = AIJob.objects.get(job_id=f"{victim}:m:1")
    assert (job.state, job.study.orthanc_study_id, job.volumes_ml) == (
        "done",
        victim,
        {"oedema": 3.5},
    )
    assert AIJob.objects.get(job_id=f"{impostor}:m:1").study.orthanc_study_id == impostor
    client = Client()
    report = json.loads(_get(client, "radiologist", f"/api/studies/{S}/report").content)
    assert report["status"] == "done"


def test_admins_list_and_review_conflicts_others_cannot(archive: FakeOrthanc) -> None:
    _arrive(archive, VICTIM)
    impostor = _arrive(archive, IMPOSTOR, f"{SE}.9", f"{SE}.9.1")
    client = Client()
    for user in ("radiologist", "clinician", "clinician2"):
        assert _get(client, user, "/api/conflicts").status_code == 403, user
    rows = json.loads(_get(client, "admin", "/api/conflicts?open=1").content)["results"]
    assert [(r["orthanc_study_id"], r["patient_id"], r["owner"]["patient_id"]) for r in rows] == [
        (impostor, IMPOSTOR, VICTIM)
    ]
    review = client.post(f"/api/conflicts/{impostor}/review", **bearer(client, "admin"))  # type: ignore[arg-type]
    assert review.status_code == 204
    assert json.loads(_get(client, "admin", "/api/conflicts?open=1").content)["results"] == []
    assert REGISTRY.get_sample_value("neuronova_study_conflicts") == 0
    assert Study.objects.get(orthanc_study_id=impostor).is_conflict  # still hidden


def test_an_admin_can_give_the_uid_to_the_conflict(archive: FakeOrthanc) -> None:
    first = _arrive(archive, VICTIM)
    second = _arrive(archive, IMPOSTOR, f"{SE}.9", f"{SE}.9.1")
    services.hand_uid_to(study=Study.objects.get(orthanc_study_id=second), reviewer="admin")
    now_owner = Study.objects.get(orthanc_study_id=second)
    former = Study.objects.get(orthanc_study_id=first)
    assert (now_owner.claimed_uid, former.claimed_uid) == (S, None)
    assert former.conflict_with == now_owner
    assert former.conflict_reviewed_at is not None


def test_all_studies_readers_search_without_the_conflicts(archive: FakeOrthanc) -> None:
    _arrive(archive, VICTIM)
    _arrive(archive, IMPOSTOR, f"{SE}.9", f"{SE}.9.1")

    def row(patient_id: str) -> dict[str, Any]:
        return {
            "0020000D": {"vr": "UI", "Value": [S]},
            "00100020": {"vr": "LO", "Value": [patient_id]},
        }

    archive.qido_rows = [row(VICTIM), row(IMPOSTOR)]
    client = Client()
    answer = _get(client, "radiologist", f"/api/pacs/dicom-web/studies?StudyInstanceUID={S}")
    assert answer.status_code == 200
    assert "X-Accel-Redirect" not in answer  # filtered here while a conflict exists
    assert json.loads(answer.content) == [row(VICTIM)]


def test_the_emr_hears_of_the_owner_only(
    archive: FakeOrthanc, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fhir_sync import hooks  # noqa: PLC0415
    from fhir_sync.source import load_snapshot  # noqa: PLC0415

    notified: list[str] = []
    monkeypatch.setattr(hooks, "on_study_updated", lambda *, study_uid: notified.append(study_uid))
    with django_capture_on_commit_callbacks(execute=True):
        victim = _arrive(archive, VICTIM)
        impostor = _arrive(archive, IMPOSTOR, f"{SE}.9", f"{SE}.9.1")
        tasks.study_stable.run(orthanc_study_id=impostor)
        tasks.study_stable.run(orthanc_study_id=victim)
    assert notified == [S]  # the owner's stable sync; arrivals and the conflict say nothing
    snapshot = load_snapshot(study_uid=S)
    assert snapshot is not None
    assert snapshot.patient.patient_id == VICTIM
