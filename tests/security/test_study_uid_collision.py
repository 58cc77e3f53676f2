"""A StudyInstanceUID reused by another patient's study, attacked on the real native stack: it must
never hand the victim's study to that patient's clinician.

The victim is a generated brain MR study C-STOREd like a scanner would, analysed by the real
inference worker. The attacker is ``clinician2``, assigned only the impostor patients. The same
StudyInstanceUID then arrives for an impostor patient three ways: the portal's upload (refused),
DICOM C-STORE and Orthanc's REST API (both stored, flagged as conflicts). The REST impostor is a
copy of one victim instance with only the PatientID changed, so every UID (study, series,
instance) is shared and Orthanc's own UID lookups become ambiguous.

Then: the attacker gets no byte of the victim study from any route; the victim study stays whole
for a radiologist and for the victim's own clinician, with nothing of the impostors mixed in; the
victim's AI report and jobs are exactly what they were; admins see the conflicts, which are
audited and counted.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pydicom
import pytest
import redis
import requests
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid
from pynetdicom import AE

from tests.support.portal import make_mr
from tests.support.stack import RunningStack

VICTIM_SEED = 515151
VICTIM_PATIENT = f"NN-SYN-{VICTIM_SEED:05d}"
ATTACKER = "clinician2"
VICTIM_DOCTOR = "sec-victim-doctor"
VICTIM_DOCTOR_PASSWORD = "sec-victim-doctor-pass"
IMPOSTOR = {"upload": "NN-SEC-UPLOAD", "c-store": "NN-SEC-CSTORE", "rest": "NN-SEC-REST"}
AI_TIMEOUT_S = 480.0
SETTLE_TIMEOUT_S = 180.0
CORNERSTONE = "multipart/related; type=application/octet-stream; transfer-syntax=*"
DICOM_JSON = "application/dicom+json"


@dataclass
class Victim:
    study_uid: str
    orthanc_study_id: str
    series: dict[str, list[str]]  # series UID -> SOP instance UIDs (the SEG series included)
    instance_ids: dict[str, str]  # SOP instance UID -> Orthanc instance id
    report: dict[str, Any]
    jobs: list[dict[str, Any]]

    def sample(self) -> list[tuple[str, str]]:
        """(series, instance) pairs that stand for the study: first and last of every series."""
        return sorted({(s, sops[i]) for s, sops in self.series.items() for i in (0, -1)})


@dataclass
class World:
    stack: RunningStack
    victim: Victim
    upload_results: list[dict[str, str]]
    impostor_study_ids: dict[str, str]  # entry path -> Orthanc study id ("" when nothing stored)
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, username: str) -> str:
        if username not in self.tokens:
            password = VICTIM_DOCTOR_PASSWORD if username == VICTIM_DOCTOR else None
            self.tokens[username] = self.stack.token(username, password)
        return self.tokens[username]

    def get(self, username: str, path: str, accept: str = "") -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token(username)}"}
        if accept:
            headers["Accept"] = accept
        return requests.get(self.stack.url + path, headers=headers, timeout=60)

    def orthanc(self) -> requests.Session:
        session = requests.Session()
        session.auth = self.stack.orthanc_auth
        return session


def _wait_for(what: str, probe: Callable[[], Any], deadline_s: float) -> Any:
    deadline = time.monotonic() + deadline_s
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def _manage(stack: RunningStack, *args: str) -> None:
    result = stack.manage(*args)
    assert result.returncode == 0, result.stdout + result.stderr


def _orthanc_json(stack: RunningStack, path: str, body: Any = None) -> Any:
    session = requests.Session()
    session.auth = stack.orthanc_auth
    if body is None:
        answer = session.get(stack.orthanc_url + path, timeout=30)
    else:
        answer = session.post(stack.orthanc_url + path, json=body, timeout=30)
    answer.raise_for_status()
    return answer.json()


def _find_study(stack: RunningStack, study_uid: str, patient_id: str) -> str:
    query = {"StudyInstanceUID": study_uid, "PatientID": patient_id}
    found = _orthanc_json(stack, "/tools/find", {"Level": "Study", "Query": query})
    return str(found[0]) if len(found) == 1 else ""


def _victim(stack: RunningStack) -> Victim:
    study_uid = stack.send_demo_study(seed=VICTIM_SEED)
    token = stack.token("radiologist")
    headers = {"Authorization": f"Bearer {token}"}

    def report_done() -> dict[str, Any] | None:
        answer = requests.get(
            f"{stack.url}/api/studies/{study_uid}/report", headers=headers, timeout=30
        )
        body = answer.json() if answer.status_code == 200 else {}
        if body.get("status") in ("failed", "skipped"):
            pytest.fail(f"the victim's AI job ended {body}")
        return body if body.get("status") == "done" and body.get("seg_series_uid") else None

    report = _wait_for("the victim's AI report", report_done, AI_TIMEOUT_S)
    orthanc_study_id = _find_study(stack, study_uid, VICTIM_PATIENT)
    # The SEG reaches Orthanc before the done event; the mirror's series follow the event.
    series: dict[str, list[str]] = {}
    instance_ids: dict[str, str] = {}
    for one in _orthanc_json(stack, f"/studies/{orthanc_study_id}/series"):
        uid = one["MainDicomTags"]["SeriesInstanceUID"]
        for instance in _orthanc_json(stack, f"/series/{one['ID']}/instances"):
            sop = instance["MainDicomTags"]["SOPInstanceUID"]
            series.setdefault(uid, []).append(sop)
            instance_ids[sop] = instance["ID"]
    assert report["seg_series_uid"] in series
    jobs = requests.get(
        f"{stack.url}/api/studies/{study_uid}/jobs", headers=headers, timeout=30
    ).json()
    return Victim(study_uid, orthanc_study_id, series, instance_ids, report, jobs)


def _impostor_slice(victim: Victim, patient_id: str, tag: str) -> bytes:
    """One MR slice of ``patient_id`` in a new series of the victim's study (the issue's repro)."""
    data, _ = make_mr(
        patient_id=patient_id,
        study_uid=victim.study_uid,
        series_uid=str(generate_uid(entropy_srcs=[victim.study_uid, tag, "series"])),
        sop_uid=str(generate_uid(entropy_srcs=[victim.study_uid, tag, "instance"])),
        seed=7,
    )
    return data


def _c_store(stack: RunningStack, data: bytes) -> int:
    dataset = pydicom.dcmread(io.BytesIO(data))
    ae = AE(ae_title="NN-DEMO")
    ae.add_requested_context(MRImageStorage, ExplicitVRLittleEndian)
    association = ae.associate("127.0.0.1", stack.dicom_port, ae_title=stack.aet)
    assert association.is_established, "the stack refused the test modality's association"
    try:
        status = association.send_c_store(dataset)
    finally:
        association.release()
    return int(getattr(status, "Status", -1))


def _copy_with_patient(stack: RunningStack, orthanc_instance_id: str, patient_id: str) -> bytes:
    session = requests.Session()
    session.auth = stack.orthanc_auth
    original = session.get(f"{stack.orthanc_url}/instances/{orthanc_instance_id}/file", timeout=30)
    original.raise_for_status()
    dataset = pydicom.dcmread(io.BytesIO(original.content))
    dataset.PatientID = patient_id
    dataset.PatientName = "Impostor^Rest"
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _settled(stack: RunningStack, orthanc_study_ids: list[str]) -> bool:
    """Orthanc calls the studies stable, the plugin sent every job message, the portal worker
    consumed and finished every task: whatever the stack does with the impostors, it has done."""
    for study in orthanc_study_ids:
        if not _orthanc_json(stack, f"/studies/{study}").get("IsStable"):
            return False
    status = _orthanc_json(stack, "/neuronova/ai/status")
    if status.get("unsent") or status.get("pending"):
        return False
    client = redis.Redis.from_url(stack.config.redis_url)
    try:
        return client.llen("portal") == 0 and client.hlen("unacked") == 0
    finally:
        client.close()


@pytest.fixture(scope="module")
def world(stack: RunningStack) -> World:
    victim = _victim(stack)
    _manage(stack, "assign_patient", ATTACKER, *IMPOSTOR.values())
    _manage(
        stack,
        "shell",
        "-c",
        "from accounts.services import ensure_user, assign_patient\n"
        f"user = ensure_user(username={VICTIM_DOCTOR!r}, password={VICTIM_DOCTOR_PASSWORD!r},"
        " role='clinician')\n"
        f"assign_patient(user=user, patient_id={VICTIM_PATIENT!r})",
    )
    attacker = {"Authorization": f"Bearer {stack.token(ATTACKER)}"}
    upload = requests.post(
        f"{stack.url}/api/pacs/upload",
        files=[("files", ("own.dcm", _impostor_slice(victim, IMPOSTOR["upload"], "71"), "x"))],
        headers=attacker,
        timeout=120,
    )
    assert upload.status_code == 200, upload.text
    assert _c_store(stack, _impostor_slice(victim, IMPOSTOR["c-store"], "72")) == 0
    first_sop = victim.series[sorted(victim.series)[0]][0]
    copy = _copy_with_patient(stack, victim.instance_ids[first_sop], IMPOSTOR["rest"])
    stored = requests.post(
        f"{stack.orthanc_url}/instances", data=copy, auth=stack.orthanc_auth, timeout=60
    )
    assert stored.status_code == 200, stored.text
    impostors = {path: _find_study(stack, victim.study_uid, pid) for path, pid in IMPOSTOR.items()}
    present = [study for study in impostors.values() if study]
    _wait_for("the stack to settle", lambda: _settled(stack, present), SETTLE_TIMEOUT_S)
    time.sleep(3)  # a sync the portal worker may still be committing
    return World(stack, victim, upload.json()["results"], impostors)


# ---- the entry paths ------------------------------------------------------------------------


def test_upload_of_another_patients_study_uid_is_refused_per_file(world: World) -> None:
    (result,) = world.upload_results
    assert result["status"] == "rejected", result
    assert "another patient" in result["reason"], result
    assert world.impostor_study_ids["upload"] == "", "the refused file reached the archive"


def test_c_store_and_rest_impostors_are_stored_and_flagged_for_admins(world: World) -> None:
    stored = {path: world.impostor_study_ids[path] for path in ("c-store", "rest")}
    assert all(stored.values()), f"an impostor was lost: {stored}"
    answer = world.get("admin", "/api/conflicts")
    assert answer.status_code == 200, answer.text
    conflicts = {row["orthanc_study_id"]: row for row in answer.json()["results"]}
    for path, orthanc_study_id in stored.items():
        row = conflicts.get(orthanc_study_id)
        assert row is not None, (path, sorted(conflicts))
        assert row["study_uid"] == world.victim.study_uid
        assert row["patient_id"] == IMPOSTOR[path]
        assert row["owner"]["orthanc_study_id"] == world.victim.orthanc_study_id
        assert row["owner"]["patient_id"] == VICTIM_PATIENT
    assert world.victim.orthanc_study_id not in conflicts


def test_conflicts_are_for_admins_only(world: World) -> None:
    for username in ("radiologist", ATTACKER, VICTIM_DOCTOR):
        assert world.get(username, "/api/conflicts").status_code == 403, username


def test_conflicts_are_audited_and_counted(world: World) -> None:
    export = world.get("admin", f"/api/audit/export?study_uid={world.victim.study_uid}")
    assert export.status_code == 200
    rows = [line for line in export.text.splitlines() if ",study-conflict," in line]
    refused = [line for line in rows if "upload refused" in line and ATTACKER in line]
    flagged = [line for line in rows if "hidden from clinicians" in line]
    assert len(refused) == 1, export.text[-3000:]
    assert len(flagged) == 2, export.text[-3000:]
    metrics = requests.get(
        f"http://127.0.0.1:{world.stack.config.django_port}/api/metrics", timeout=30
    ).text
    gauge = [line for line in metrics.splitlines() if line.startswith("neuronova_study_conflicts ")]
    assert gauge, "no neuronova_study_conflicts gauge"
    assert float(gauge[0].split()[1]) >= 2


# ---- the attacker gets no byte of the victim study --------------------------------------------


def _victim_routes(victim: Victim) -> dict[str, tuple[str, str]]:
    """Every door to the victim study's bytes: name -> (path, Accept)."""
    study = victim.study_uid
    base = f"/api/pacs/dicom-web/studies/{study}"
    routes: dict[str, tuple[str, str]] = {
        "qido-studies-by-uid": (f"/api/pacs/dicom-web/studies?StudyInstanceUID={study}", ""),
        "qido-studies-by-victim-patient": (
            f"/api/pacs/dicom-web/studies?PatientID={VICTIM_PATIENT}",
            "",
        ),
        "qido-series-by-study": (f"/api/pacs/dicom-web/series?StudyInstanceUID={study}", ""),
        "qido-instances-by-study": (f"/api/pacs/dicom-web/instances?StudyInstanceUID={study}", ""),
        "qido-study-series": (f"{base}/series", ""),
        "qido-study-series-victim-patient": (f"{base}/series?PatientID={VICTIM_PATIENT}", ""),
        "qido-study-instances": (f"{base}/instances", ""),
        "study-metadata": (f"{base}/metadata", ""),
        "study-retrieve": (base, 'multipart/related; type="application/dicom"'),
        "study-thumbnail": (f"{base}/thumbnail", "image/png"),
        "study-rendered": (f"{base}/rendered", "image/png"),
        "study-api": (f"/api/studies/{study}", ""),
        "study-report": (f"/api/studies/{study}/report", ""),
        "study-jobs": (f"/api/studies/{study}/jobs", ""),
        "worklist-search": (f"/api/studies?search={VICTIM_PATIENT}", ""),
    }
    for series, sop in victim.sample():
        s = f"{base}/series/{series}"
        i = f"{s}/instances/{sop}"
        wado = (
            f"/api/pacs/wado?requestType=WADO&studyUID={study}&seriesUID={series}&objectUID={sop}"
        )
        routes |= {
            f"qido-series-instances {series}": (f"{s}/instances", ""),
            f"series-metadata {series}": (f"{s}/metadata", ""),
            f"series-retrieve {series}": (s, 'multipart/related; type="application/dicom"'),
            f"series-thumbnail {series}": (f"{s}/thumbnail", "image/png"),
            f"series-rendered {series}": (f"{s}/rendered", "image/png"),
            f"instance-metadata {sop}": (f"{i}/metadata", ""),
            f"instance-retrieve {sop}": (i, 'multipart/related; type="application/dicom"'),
            f"instance-rendered {sop}": (f"{i}/rendered", "image/png"),
            f"instance-thumbnail {sop}": (f"{i}/thumbnail", "image/png"),
            f"frame {sop}": (f"{i}/frames/1", CORNERSTONE),
            f"frame-multipart {sop}": (f"{i}/frames/1", "multipart/related"),
            f"wado-uri-dicom {sop}": (f"{wado}&contentType=application%2Fdicom", ""),
            f"wado-uri-jpeg {sop}": (f"{wado}&contentType=image%2Fjpeg", ""),
        }
    return routes


def _leaks(victim: Victim, body: bytes) -> list[str]:
    """Victim markers found in an answer: its PatientID or any of its instance UIDs."""
    text = body.decode("latin-1")
    markers = [VICTIM_PATIENT, *victim.instance_ids]
    return [marker for marker in markers if marker in text]


def test_attacker_gets_no_byte_of_the_victim_study(world: World) -> None:
    leaked: dict[str, str] = {}
    for name, (path, accept) in _victim_routes(world.victim).items():
        answer = world.get(ATTACKER, path, accept)
        found = _leaks(world.victim, answer.content)
        if answer.status_code == 200 and name.startswith(("qido", "worklist")):
            rows = answer.json()
            rows = rows.get("results", rows) if isinstance(rows, dict) else rows
            if rows or found:
                leaked[name] = f"200 with {len(rows)} rows {found[:3]}"
        elif answer.status_code not in (403, 404) or found:
            leaked[name] = f"{answer.status_code} {len(answer.content)} bytes {found[:3]}"
    assert not leaked, json.dumps(leaked, indent=1)


def test_attacker_cannot_reanalyse_the_victim_study(world: World) -> None:
    answer = requests.post(
        f"{world.stack.url}/api/studies/{world.victim.study_uid}/reanalyze",
        headers={"Authorization": f"Bearer {world.token(ATTACKER)}"},
        timeout=60,
    )
    assert answer.status_code == 403


def test_attacker_sees_no_study_under_the_victims_uid(world: World) -> None:
    listed = world.get(ATTACKER, "/api/studies?page_size=200").json()["results"]
    assert [row for row in listed if row["study_uid"] == world.victim.study_uid] == []
    qido = world.get(ATTACKER, "/api/pacs/dicom-web/studies").json()
    assert [r for r in qido if r["0020000D"]["Value"][0] == world.victim.study_uid] == []


# ---- the victim study stays whole, and only the victim's --------------------------------------


def _patient_ids(rows: list[dict[str, Any]]) -> set[str]:
    return {str(row.get("00100020", {}).get("Value", [""])[0]) for row in rows}


@pytest.mark.parametrize("reader", ["radiologist", VICTIM_DOCTOR])
def test_victim_study_stays_whole_and_unmixed(world: World, reader: str) -> None:
    victim = world.victim
    base = f"/api/pacs/dicom-web/studies/{victim.study_uid}"
    studies = world.get(reader, f"/api/pacs/dicom-web/studies?StudyInstanceUID={victim.study_uid}")
    assert studies.status_code == 200
    assert _patient_ids(studies.json()) == {VICTIM_PATIENT}
    series = world.get(reader, f"{base}/series")
    assert series.status_code == 200, series.text
    assert _patient_ids(series.json()) == {VICTIM_PATIENT}
    assert {r["0020000E"]["Value"][0] for r in series.json()} == set(victim.series)
    instances = world.get(reader, f"{base}/instances")
    assert instances.status_code == 200
    assert {r["00080018"]["Value"][0] for r in instances.json()} == set(victim.instance_ids)
    assert _patient_ids(instances.json()) == {VICTIM_PATIENT}
    metadata = world.get(reader, f"{base}/metadata")
    assert metadata.status_code == 200, metadata.text[:300]
    assert {m["00080018"]["Value"][0] for m in metadata.json()} == set(victim.instance_ids)
    assert _patient_ids(metadata.json()) == {VICTIM_PATIENT}
    for uid, sops in victim.series.items():
        answer = world.get(reader, f"{base}/series/{uid}/metadata")
        assert answer.status_code == 200, (uid, answer.text[:300])
        assert sorted(m["00080018"]["Value"][0] for m in answer.json()) == sorted(sops)
        assert _patient_ids(answer.json()) == {VICTIM_PATIENT}
    detail = world.get(reader, f"/api/studies/{victim.study_uid}").json()
    assert detail["study"]["patient_id"] == VICTIM_PATIENT
    assert {s["series_uid"] for s in detail["series"]} == set(victim.series)


def test_victim_frames_thumbnails_and_files_are_the_victims_bytes(world: World) -> None:
    victim = world.victim
    orthanc = world.orthanc()
    base = f"/api/pacs/dicom-web/studies/{victim.study_uid}"
    for series, sop in victim.sample():
        orthanc_id = victim.instance_ids[sop]
        stored = orthanc.get(f"{world.stack.orthanc_url}/instances/{orthanc_id}/file", timeout=30)
        instance = f"{base}/series/{series}/instances/{sop}"
        wado = (
            f"/api/pacs/wado?requestType=WADO&studyUID={victim.study_uid}&seriesUID={series}"
            f"&objectUID={sop}&contentType=application%2Fdicom"
        )
        for reader in ("radiologist", VICTIM_DOCTOR):
            file = world.get(reader, wado)
            assert file.status_code == 200, (reader, sop, file.text[:200])
            assert file.content == stored.content, (reader, sop)
            thumbnail = world.get(reader, f"{instance}/thumbnail", "image/png")
            assert thumbnail.status_code == 200, (reader, sop)
            if pydicom.dcmread(io.BytesIO(stored.content)).get("Modality") == "SEG":
                continue
            raw = orthanc.get(
                f"{world.stack.orthanc_url}/instances/{orthanc_id}/frames/0/raw", timeout=30
            )
            frame = world.get(reader, f"{instance}/frames/1", CORNERSTONE)
            assert frame.status_code == 200, (reader, sop, frame.text[:200])
            assert frame.content == raw.content, (reader, sop)


def test_victim_ai_report_and_jobs_are_untouched(world: World) -> None:
    victim = world.victim
    report = world.get("radiologist", f"/api/studies/{victim.study_uid}/report").json()
    assert report == victim.report
    jobs = world.get("radiologist", f"/api/studies/{victim.study_uid}/jobs").json()
    assert jobs == victim.jobs
    seg = world.get(
        "radiologist",
        f"/api/pacs/dicom-web/studies/{victim.study_uid}/series/{report['seg_series_uid']}/metadata",
    )
    assert seg.status_code == 200
    assert _patient_ids(seg.json()) == {VICTIM_PATIENT}
