"""Portal unit tests run inside Django's test environment (SQLite unless told otherwise)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

import httpx
import pytest

from tests.support.portal import DEV_PASSWORDS, configure_django

configure_django()

from django.test import Client  # noqa: E402 - needs the settings configured above
from pacs.query import Dialect  # noqa: E402


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


class FakeOrthanc:
    """Stands in for pacs.orthanc.OrthancClient: a tiny archive of (study, series, instance)."""

    def __init__(self) -> None:
        self.instances: dict[tuple[str, str, str], tuple[str, str]] = {}
        self.qido_rows: list[dict[str, Any]] = []
        self.qido_queries: list[str] = []
        self.stored: list[bytes] = []
        self.reanalysed: list[str] = []
        self.studies: dict[str, dict[str, Any]] = {}
        self.series: dict[str, list[dict[str, Any]]] = {}
        self.dialect = Dialect.VERBATIM  # Debian 12's Orthanc 1.10.1 does not decode queries
        self.dialect_probes = 0

    def study(self, orthanc_study_id: str) -> dict[str, Any]:
        return self.studies[orthanc_study_id]

    def study_series(self, orthanc_study_id: str) -> list[dict[str, Any]]:
        return self.series.get(orthanc_study_id, [])

    def find_series(self, study_uid: str, series_uid: str) -> str | None:
        hit = any(k[:2] == (study_uid, series_uid) for k in self.instances)
        return f"series-{series_uid}" if hit else None

    def series_instances(self, orthanc_series_id: str) -> list[str]:
        return [
            oid
            for (_, series, _), (oid, _) in self.instances.items()
            if f"series-{series}" == orthanc_series_id
        ]

    def find_instance(self, study_uid: str, series_uid: str, sop_uid: str) -> str | None:
        hit = self.instances.get((study_uid, series_uid, sop_uid))
        return hit[0] if hit else None

    def transfer_syntax(self, orthanc_instance_id: str) -> str:
        return next(ts for oid, ts in self.instances.values() if oid == orthanc_instance_id)

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

    def lookup_study(self, study_uid: str) -> str | None:
        return next((oid for oid, s in self.studies.items() if _study_uid(s) == study_uid), None)

    def store(self, dicom: IO[bytes]) -> tuple[int, dict[str, Any]]:
        self.stored.append(dicom.read())
        return 200, {"Status": "Success", "ParentStudy": ""}

    def reanalyze(self, orthanc_study_id: str) -> dict[str, Any]:
        self.reanalysed.append(orthanc_study_id)
        return {"job_id": "j-new"}


def _study_uid(study: dict[str, Any]) -> str:
    return str((study.get("MainDicomTags") or {}).get("StudyInstanceUID", ""))


@pytest.fixture
def fake_orthanc(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOrthanc]:
    from pacs import gateway  # noqa: PLC0415 - only after configure_django()

    fake = FakeOrthanc()
    monkeypatch.setattr(gateway, "orthanc", lambda: fake)
    gateway.authoriser().clear()
    gateway._instances.clear()
    gateway._series.clear()
    gateway._representatives.clear()
    gateway._dialects.clear()
    yield fake
    gateway.authoriser().clear()


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
