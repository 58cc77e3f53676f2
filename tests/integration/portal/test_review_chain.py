"""A radiologist's edit through the real chain: STOW-RS of an edited SEG via nginx → gunicorn →
Orthanc (with the NeuroNova plugin), read back through the gateway, then signed; the clinician
sees the signed report with the server's volumes, and cannot store or sign."""

from __future__ import annotations

import copy
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pydicom
import pytest
import requests
from authz.identity import orthanc_id
from dicomweb_client.api import DICOMwebClient
from pydicom.dataset import Dataset

from tests.support.portal import PortalChain, make_mr, portal_chain
from tests.support.segmentations import binary_seg

ROOT = "1.2.826.0.1.3680043.10.1616"
STUDY, SERIES = f"{ROOT}.1", f"{ROOT}.1.1"
OTHER_STUDY = f"{ROOT}.2"
PATIENT, OTHER = "NN-DEMO-0001", "NN-IT-REVIEW-OTHER"
BOUNDARY = "nn-review-chain"
STOW_TYPE = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'


@dataclass
class Reviewed:
    chain: PortalChain
    slices: list[Dataset]
    tokens: dict[str, str]

    def sources(self) -> list[Dataset]:
        """Fresh copies: highdicom's SEG shares data elements with the source datasets, so
        changing the SEG's PatientID would change theirs."""
        return copy.deepcopy(self.slices)

    def token(self, user: str) -> str:
        if user not in self.tokens:
            self.tokens[user] = self.chain.token_pair(user)["access"]
        return self.tokens[user]

    def call(
        self,
        method: str,
        path: str,
        user: str,
        *,
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
        json: Any = None,
        files: list[Any] | None = None,
    ) -> requests.Response:
        sent = {"Authorization": f"Bearer {self.token(user)}", **(headers or {})}
        return requests.request(
            method,
            self.chain.url + path,
            headers=sent,
            data=data,
            json=json,
            files=files,
            timeout=60,
        )

    def stow(self, user: str, *instances: bytes) -> requests.Response:
        body = (
            b"".join(
                f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode() + i + b"\r\n"
                for i in instances
            )
            + f"--{BOUNDARY}--\r\n".encode()
        )
        return self.call(
            "POST",
            "/api/pacs/dicom-web/studies",
            user,
            data=body,
            headers={"Content-Type": STOW_TYPE},
        )

    def orthanc_studies(self, study_uid: str) -> list[str]:
        found = self.chain.orthanc.session().post(
            f"{self.chain.orthanc.url}/tools/find",
            json={"Level": "Study", "Query": {"StudyInstanceUID": study_uid}},
            timeout=20,
        )
        return sorted(found.json())


def _bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def reviewed() -> Iterator[Reviewed]:
    with portal_chain() as chain:
        files: list[Any] = []
        slices: list[Dataset] = []
        for number in range(3):
            data, _ = make_mr(
                patient_id=PATIENT,
                study_uid=STUDY,
                series_uid=SERIES,
                sop_uid=f"{SERIES}.{number + 1}",
                seed=number,
            )
            ds = pydicom.dcmread(io.BytesIO(data))
            ds.ImagePositionPatient = [0, 0, 2 * number]  # 2 mm apart
            ds.InstanceNumber = number + 1
            slices.append(ds)
            files.append(("files", (f"{number}.dcm", _bytes(ds), "application/dicom")))
        other, _ = make_mr(
            patient_id=OTHER,
            study_uid=OTHER_STUDY,
            series_uid=f"{OTHER_STUDY}.1",
            sop_uid=f"{OTHER_STUDY}.1.1",
        )
        files.append(("files", ("other.dcm", other, "application/dicom")))
        state = Reviewed(chain, slices, {})
        answer = state.call("POST", "/api/pacs/upload", "radiologist", files=files)
        assert [r["status"] for r in answer.json()["results"]] == ["stored"] * 4, answer.text
        # The AI's result, as the worker's job event would record it (no worker in this chain).
        at = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
        chain.manage(
            "shell",
            "-c",
            (
                "from archive import client; from clinical.services import JobEvent, "
                "record_job_event; record_job_event(orthanc=client.orthanc(), event=JobEvent("
                f"job_id='review-chain', study_uid='{STUDY}', "
                f"orthanc_study_id='{orthanc_id(PATIENT, STUDY)}', state='done', model_id='m', "
                f"model_version='1', seg_series_uid='{STUDY}.9001', volumes_ml={{'block': 9.0}}, "
                f"at='{at}'))"
            ),
        )
        yield state


def test_a_clinician_cannot_store_or_sign(reviewed: Reviewed) -> None:
    seg = _bytes(binary_seg(reviewed.sources()))
    assert reviewed.stow("clinician", seg).status_code == 403
    signed = reviewed.call(
        "POST",
        f"/api/studies/{STUDY}/review",
        "clinician",
        json={"decision": "accepted", "impression": "ok"},
    )
    assert signed.status_code == 403
    assert reviewed.orthanc_studies(STUDY) == [orthanc_id(PATIENT, STUDY)]


def test_another_patients_id_never_files_a_colliding_study(reviewed: Reviewed) -> None:
    seg = binary_seg(reviewed.sources())
    seg.PatientID = OTHER  # our study's UID under another patient: Orthanc would file a new study
    answer = reviewed.stow("radiologist", _bytes(seg))
    assert answer.status_code == 409
    assert answer.json()["00081198"]["Value"][0]["00081197"]["Value"] == [0x0124]
    assert reviewed.orthanc_studies(STUDY) == [orthanc_id(PATIENT, STUDY)]


def test_an_edited_seg_is_stored_read_back_and_signed(reviewed: Reviewed) -> None:
    seg = binary_seg(reviewed.sources())
    stored = reviewed.stow("radiologist", _bytes(seg))
    assert stored.status_code == 200, stored.text
    assert stored.headers["Content-Type"].startswith("application/dicom+json")
    (item,) = stored.json()["00081199"]["Value"]
    url = item["00081190"]["Value"][0]
    path = url[url.index("/api/pacs/dicom-web/") :]
    back = reviewed.call(
        "GET", path, "clinician", headers={"Accept": 'multipart/related; type="application/dicom"'}
    )
    assert back.status_code == 200, back.text  # the assigned clinician reads it through nginx
    assert str(seg.SOPInstanceUID).encode() in back.content
    mask = seg.pixel_array.astype(bool)
    expected_ml = round(float(mask.sum()) * 1.0 * 1.0 * 2.0 / 1000.0, 3)  # 1 x 1 mm, 2 mm apart
    report = reviewed.call("GET", f"/api/studies/{STUDY}/report", "clinician").json()
    assert (report["review"]["state"], report["review"]["signed"]) == ("pending_review", False)
    assert report["volumes_source"] == "edited_seg"
    signed = reviewed.call(
        "POST",
        f"/api/studies/{STUDY}/review",
        "radiologist",
        json={"decision": "edited", "impression": "Edited margin."},
    )
    assert signed.status_code == 200, signed.text
    report = reviewed.call("GET", f"/api/studies/{STUDY}/report", "clinician").json()
    assert report["review"]["signed"] is True
    assert report["review"]["reviewer"] == "radiologist"
    assert report["review"]["edited_seg_series_uid"] == str(seg.SeriesInstanceUID)
    assert {row["label"]: row["volume_ml"] for row in report["labels"]} == {"block": expected_ml}
    assert np.isclose(expected_ml, 3 * 16 * 11 * 2 / 1000)  # the 64-pixel slices' marked block
    rows = reviewed.call("GET", "/api/studies", "clinician").json()["results"]
    assert {(r["study_uid"], r["signed"]) for r in rows} >= {(STUDY, True)}
    trend = reviewed.call("GET", f"/api/patients/{PATIENT}/tumour-volumes", "clinician").json()
    assert [s["total_ml"] for s in trend["studies"] if s["study_uid"] == STUDY] == [expected_ml]
    assert trend["patient_id"] == PATIENT


def test_a_dicomweb_client_stores_through_the_portal(reviewed: Reviewed) -> None:
    """Another STOW-RS client's framing (dicomweb-client, the library OHIF's data source is
    built on) through nginx: stored, and answered as PS3.18 says."""
    client = DICOMwebClient(
        url=f"{reviewed.chain.url}/api/pacs/dicom-web",
        headers={"Authorization": f"Bearer {reviewed.token('radiologist')}"},
    )
    seg = binary_seg(reviewed.sources())
    answer = client.store_instances([seg])
    stored = answer.ReferencedSOPSequence
    assert [str(item.ReferencedSOPInstanceUID) for item in stored] == [str(seg.SOPInstanceUID)]
    assert not answer.get("FailedSOPSequence")
