"""The series and study metadata caches attacked with a StudyInstanceUID conflict on the real
chain (nginx → gunicorn → Orthanc 1.13 with the plugin; the shared cache in the chain's Redis).

The owner's series is cached by its own clinician first. Then an impostor study arrives through
Orthanc's REST API: copies of the owner's instances with only the PatientID changed (every UID
shared, so Orthanc's own UID lookups become ambiguous) plus one more instance in the same series.
The impostor patient's clinician must get nothing of the owner's cached metadata; the owner's
readers must get exactly the owner's instances. Then an admin hands the UID to the impostor
study: now its clinician reads the UID and must get that study's instances, never the former
owner's cache entry, and the former owner's clinician is refused.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from tests.support.orthanc import synthetic_mr_series
from tests.support.portal import PortalChain, portal_chain

OWNER, IMPOSTOR = "NN-MDC-OWNER", "NN-DEMO-0001"  # clinician2's (assigned here); clinician's
ENV = {"PORTAL_DECISION_CACHE_SECONDS": "1"}
ONE_WORKER = ("--workers", "1", "--worker-class", "gthread", "--threads", "4")
LEVELS = ("series", "study")  # both metadata caches (pacs.metadata.series / .study)


@dataclass
class Conflict:
    chain: PortalChain
    owner: list[Dataset]
    impostor_sops: list[str]

    def metadata(self, username: str, level: str = "series") -> requests.Response:
        """The series' metadata, or with ``level="study"`` the whole study's."""
        study, series = self.owner[0].StudyInstanceUID, self.owner[0].SeriesInstanceUID
        token = self.chain.token_pair(username)["access"]  # a fresh token: a fresh decision
        path = f"studies/{study}/metadata"
        if level == "series":
            path = f"studies/{study}/series/{series}/metadata"
        return requests.get(
            f"{self.chain.url}/api/pacs/dicom-web/{path}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )

    def store(self, ds: Dataset) -> str:
        out = io.BytesIO()
        ds.save_as(out, enforce_file_format=True)
        answer = self.chain.orthanc.session().post(
            f"{self.chain.orthanc.url}/instances", data=out.getvalue(), timeout=60
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["ParentStudy"])


def rows_of(answer: requests.Response) -> tuple[list[str], set[str]]:
    rows = answer.json()
    return (
        sorted(r["00080018"]["Value"][0] for r in rows),
        {r["00100020"]["Value"][0] for r in rows},
    )


def assert_refused_without_metadata(answer: requests.Response) -> None:
    assert answer.status_code == 403
    assert answer.headers["Content-Type"] == "application/json"
    assert b"00080018" not in answer.content
    assert len(answer.content) < 200


@pytest.fixture(scope="module")
def conflict() -> Iterator[Conflict]:
    with portal_chain(env=ENV, gunicorn_options=ONE_WORKER) as chain:
        chain.manage("assign_patient", "clinician2", OWNER)
        owner = synthetic_mr_series(3, rows=64, columns=64, patient_id=OWNER, seed=11)
        running = Conflict(chain, owner, [])
        for ds in owner:
            running.store(ds)
        chain.manage("sync_studies")
        yield running


def test_the_cache_never_serves_the_owners_series_across_a_conflict(conflict: Conflict) -> None:
    owner_sops = sorted(str(ds.SOPInstanceUID) for ds in conflict.owner)
    for level in LEVELS:  # the owner's clinician fills the cache, series and study entries
        assert rows_of(conflict.metadata("clinician2", level)) == (owner_sops, {OWNER}), level
    for original in conflict.owner:
        copy = original.copy()
        copy.PatientID = IMPOSTOR
        conflict.store(copy)
    extra = conflict.owner[0].copy()
    extra.PatientID = IMPOSTOR
    extra.SOPInstanceUID = extra.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    impostor_study = conflict.store(extra)
    conflict.chain.manage("sync_studies")

    for level in LEVELS:
        assert_refused_without_metadata(conflict.metadata("clinician", level))
        for reader in ("clinician2", "radiologist"):
            answer = conflict.metadata(reader, level)
            assert rows_of(answer) == (owner_sops, {OWNER}), (reader, level)

    conflict.chain.manage(
        "shell",
        "-c",
        "from clinical import services; from clinical.models import Study; "
        f"services.hand_uid_to(study=Study.objects.get(orthanc_study_id='{impostor_study}'), "
        "reviewer='admin')",
    )
    time.sleep(1.5)  # PORTAL_DECISION_CACHE_SECONDS: the process's cached owner expires
    impostor_sops = sorted([*owner_sops, str(extra.SOPInstanceUID)])
    for level in LEVELS:
        assert rows_of(conflict.metadata("clinician", level)) == (impostor_sops, {IMPOSTOR})
        assert_refused_without_metadata(conflict.metadata("clinician2", level))
        assert rows_of(conflict.metadata("radiologist", level)) == (impostor_sops, {IMPOSTOR})
