"""Test helpers for the portal in-process (Django's test client): the dev users' tokens, a fake
Orthanc client with its fixture, and Orthanc's JSON for a study and a series.

Imported by the conftests of tests/unit/portal, tests/integration/portal and tests/security (which
re-export the fixtures) and by their tests; it sets up Django's settings first.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import httpx
import pydicom
import pytest
from archive.orthanc import OrthancNotFound
from authz.identity import orthanc_id

from tests.support.portal import DEV_PASSWORDS, configure_django, make_mr

configure_django()

from django.test import Client  # noqa: E402 - needs the settings configured above
from pacs.query import Dialect  # noqa: E402

HTJ2K = "1.2.840.10008.1.2.4.202"


def login(client: Client, username: str) -> dict[str, str]:
    """Log a dev user in through ``POST /api/auth/token``; the access and refresh tokens."""
    response = client.post(
        "/api/auth/token",
        {"username": username, "password": DEV_PASSWORDS[username]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return dict(json.loads(response.content))


def bearer(client: Client, username: str) -> dict[str, str]:
    """Django test-client headers carrying that user's access token."""
    return {"HTTP_AUTHORIZATION": f"Bearer {login(client, username)['access']}"}


@dataclass(frozen=True)
class FakeInstance:
    patient_id: str
    study_uid: str
    series_uid: str
    sop_uid: str
    transfer_syntax: str
    modality: str = "MR"

    @property
    def study_id(self) -> str:
        return orthanc_id(self.patient_id, self.study_uid)

    @property
    def series_id(self) -> str:
        return orthanc_id(self.patient_id, self.study_uid, self.series_uid)


class FakeOrthanc:
    """Stands in for archive.orthanc.OrthancClient: a tiny archive keyed, like Orthanc, by ids
    derived from PatientID and UIDs (so two patients' studies may share a StudyInstanceUID).

    ``add`` files an instance; ``studies``/``series`` hold raw JSON a test wants answered as is.
    """

    def __init__(self) -> None:
        self.files: dict[str, FakeInstance] = {}
        self.qido_rows: list[dict[str, Any]] = []
        self.qido_queries: list[str] = []
        self.stored: list[bytes] = []
        self.reanalysed: list[str] = []
        self.studies: dict[str, dict[str, Any]] = {}
        self.series: dict[str, list[dict[str, Any]]] = {}
        self.dialect = Dialect.VERBATIM  # Debian 12's Orthanc 1.10.1 does not decode queries
        self.dialect_probes = 0
        self.metadata_reads: list[str] = []  # series UIDs whose DICOMweb metadata was asked

    def add(
        self,
        *,
        patient_id: str,
        study_uid: str,
        series_uid: str,
        sop_uid: str,
        transfer_syntax: str = HTJ2K,
        modality: str = "MR",
    ) -> str:
        """File one instance; its Orthanc id."""
        instance = FakeInstance(
            patient_id, study_uid, series_uid, sop_uid, transfer_syntax, modality
        )
        key = orthanc_id(patient_id, study_uid, series_uid, sop_uid)
        self.files[key] = instance
        return key

    def _of_study(self, orthanc_study_id: str) -> list[tuple[str, FakeInstance]]:
        return [(k, i) for k, i in self.files.items() if i.study_id == orthanc_study_id]

    def study(self, orthanc_study_id: str) -> dict[str, Any]:
        if orthanc_study_id in self.studies:
            return self.studies[orthanc_study_id]
        members = self._of_study(orthanc_study_id)
        if not members:
            raise OrthancNotFound(f"GET /studies/{orthanc_study_id}: HTTP 404")
        first = members[0][1]
        return orthanc_study_json(
            orthanc_id=orthanc_study_id, study_uid=first.study_uid, patient_id=first.patient_id
        )

    def study_series(self, orthanc_study_id: str) -> list[dict[str, Any]]:
        if orthanc_study_id in self.series:
            return self.series[orthanc_study_id]
        out: dict[str, dict[str, Any]] = {}
        for key, instance in self._of_study(orthanc_study_id):
            if instance.series_id not in out:
                out[instance.series_id] = orthanc_series_json(
                    orthanc_id=instance.series_id,
                    series_uid=instance.series_uid,
                    modality=instance.modality,
                )
                out[instance.series_id]["Instances"] = []
            out[instance.series_id]["Instances"].append(key)
        return list(out.values())

    def studies_with_uid(self, study_uid: str) -> list[tuple[str, str]]:
        found = {
            (i.study_id, i.patient_id) for i in self.files.values() if i.study_uid == study_uid
        }
        return sorted(found)

    def series_instances(self, orthanc_series_id: str) -> list[str]:
        found = [k for k, i in self.files.items() if i.series_id == orthanc_series_id]
        if not found:
            raise OrthancNotFound(f"GET /series/{orthanc_series_id}: HTTP 404")
        return found

    def study_instances(self, orthanc_study_id: str) -> list[dict[str, Any]]:
        return [
            {"ID": k, "ParentSeries": i.series_id, "MainDicomTags": {"SOPInstanceUID": i.sop_uid}}
            for k, i in self._of_study(orthanc_study_id)
        ]

    def series_metadata(self, study_uid: str, series_uid: str, public_root: str) -> bytes:
        """As Orthanc's DICOMweb: found by UIDs, so 404 when two patients' studies share them;
        BulkDataURIs under the public root nginx would pass on."""
        from pacs import compose  # noqa: PLC0415 - only after configure_django()

        self.metadata_reads.append(series_uid)
        found = {
            k: i
            for k, i in self.files.items()
            if (i.study_uid, i.series_uid) == (study_uid, series_uid)
        }
        if not found or len({i.patient_id for i in found.values()}) > 1:
            raise OrthancNotFound(f"series metadata {series_uid}: HTTP 404")
        return compose.metadata(self, sorted(found), f"{public_root}/dicom-web")

    def study_metadata(self, study_uid: str, public_root: str) -> bytes:
        """As Orthanc's DICOMweb: found by UID, so 404 when two patients' studies share it."""
        from pacs import compose  # noqa: PLC0415 - only after configure_django()

        self.metadata_reads.append(study_uid)
        found = {k: i for k, i in self.files.items() if i.study_uid == study_uid}
        if not found or len({i.patient_id for i in found.values()}) > 1:
            raise OrthancNotFound(f"study metadata {study_uid}: HTTP 404")
        return compose.metadata(self, sorted(found), f"{public_root}/dicom-web")

    def transfer_syntax(self, orthanc_instance_id: str) -> str:
        if orthanc_instance_id not in self.files:
            raise OrthancNotFound(f"GET /instances/{orthanc_instance_id}/header: HTTP 404")
        return self.files[orthanc_instance_id].transfer_syntax

    def instance_file(self, orthanc_instance_id: str) -> bytes:
        instance = self.files.get(orthanc_instance_id)
        if instance is None:
            raise OrthancNotFound(f"GET /instances/{orthanc_instance_id}/file: HTTP 404")
        data, _ = make_mr(
            patient_id=instance.patient_id,
            study_uid=instance.study_uid,
            series_uid=instance.series_uid,
            sop_uid=instance.sop_uid,
            size=32,  # pixel data over 1 KiB: DICOM JSON gives it as a BulkDataURI
        )
        return data

    def frame(self, orthanc_instance_id: str, frame_index: int) -> bytes:
        return f"{orthanc_instance_id}#{frame_index}".encode()

    def qido(self, path: str, query: str, accept: str) -> httpx.Response:
        """Records the exact query; honours limit/offset as Orthanc's QIDO does."""
        self.qido_queries.append(f"{path}?{query}")
        params = dict(pair.split("=", 1) for pair in query.split("&") if "=" in pair)
        start = int(params.get("offset", "0"))
        stop = start + int(params["limit"]) if params.get("limit", "0") != "0" else None
        return httpx.Response(200, json=self.qido_rows[start:stop])

    def query_dialect(self) -> Dialect:
        self.dialect_probes += 1
        return self.dialect

    def store(self, dicom: IO[bytes]) -> tuple[int, dict[str, Any]]:
        data = dicom.read()
        self.stored.append(data)
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
        key = self.add(
            patient_id=str(ds.PatientID),
            study_uid=str(ds.StudyInstanceUID),
            series_uid=str(ds.SeriesInstanceUID),
            sop_uid=str(ds.SOPInstanceUID),
            transfer_syntax=str(ds.file_meta.TransferSyntaxUID),
        )
        return 200, {"Status": "Success", "ParentStudy": self.files[key].study_id}

    def reanalyze(self, orthanc_study_id: str) -> dict[str, Any]:
        self.reanalysed.append(orthanc_study_id)
        return {"job_id": "j-new"}

    def all_study_ids(self) -> Iterator[str]:
        yield from sorted({*self.studies, *(i.study_id for i in self.files.values())})


@pytest.fixture
def fake_orthanc(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOrthanc]:
    from archive import client  # noqa: PLC0415 - only after configure_django()
    from django.core.cache import cache  # noqa: PLC0415
    from pacs import gateway  # noqa: PLC0415

    fake = FakeOrthanc()
    monkeypatch.setattr(client, "orthanc", lambda: fake)
    gateway.clear_caches()
    cache.clear()  # the shared cache (series metadata among it) starts empty for each test
    yield fake
    gateway.clear_caches()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def orthanc_study_json(*, orthanc_id: str, study_uid: str, patient_id: str) -> dict[str, Any]:
    return {
        "ID": orthanc_id,
        "MainDicomTags": {
            "StudyInstanceUID": study_uid,
            "StudyDate": "20260101",
            "StudyDescription": "Brain MR",
            "AccessionNumber": "A1",
        },
        "PatientMainDicomTags": {"PatientID": patient_id, "PatientName": "Doe^Jane"},
    }


def orthanc_series_json(*, orthanc_id: str, series_uid: str, modality: str) -> dict[str, Any]:
    return {
        "ID": orthanc_id,
        "MainDicomTags": {"SeriesInstanceUID": series_uid, "Modality": modality},
        "Instances": ["i1", "i2"],
    }
