"""Name searches through the real chain (nginx X-Accel → Orthanc's DICOMweb) as a viewer sends them.

Wildcards and person names must reach Orthanc as the client meant them, not re-encoded (``%2A``,
``%5E``, which matched nothing). Values are sent the way dicomweb-client sends them
(``encodeURIComponent``: ``^`` as ``%5E``, a space as ``%20``, ``,`` as ``%2C``).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pydicom
import pytest
import requests

from tests.support.portal import PortalChain, make_mr, portal_chain

NAMES = {"1.2.826.0.77.1": "GROWTH^7", "1.2.826.0.77.2": "GROWTH^8 JR", "1.2.826.0.77.3": "OTHER^X"}
PATIENTS = {"1.2.826.0.77.1": "NN-DEMO-0001", "1.2.826.0.77.2": "NN-G8", "1.2.826.0.77.3": "NN-X"}


@dataclass
class Named:
    chain: PortalChain
    decodes: bool  # Orthanc >= 1.12.10 percent-decodes query strings (pacs.query)

    def search(self, user: str, **params: str) -> requests.Response:
        query = "&".join(f"{k}={quote(v, safe='*?')}" for k, v in params.items())
        token = self.chain.token_pair(user)["access"]
        return requests.get(
            f"{self.chain.url}/api/pacs/dicom-web/studies?{query}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3])


@pytest.fixture(scope="module")
def named() -> Iterator[Named]:
    with portal_chain() as chain:
        for n, (study_uid, name) in enumerate(NAMES.items()):
            data, _ = make_mr(
                patient_id=PATIENTS[study_uid],
                study_uid=study_uid,
                series_uid=f"{study_uid}.1",
                sop_uid=f"{study_uid}.1.1",
                seed=n,
            )
            dataset = pydicom.dcmread(io.BytesIO(data))
            dataset.PatientName = name
            buffer = io.BytesIO()
            dataset.save_as(buffer)
            stored = chain.orthanc.session().post(
                f"{chain.orthanc.url}/instances", data=buffer.getvalue(), timeout=60
            )
            assert stored.status_code == 200, stored.text
        chain.manage("sync_studies")
        version = chain.orthanc.session().get(f"{chain.orthanc.url}/system", timeout=10)
        yield Named(chain, decodes=_version(version.json()["Version"]) >= (1, 12, 10))


def uids(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(row["0020000D"]["Value"][0] for row in response.json())


def test_wildcards_and_person_names_find_the_study(named: Named) -> None:
    both = sorted(uid for uid, name in NAMES.items() if name.startswith("GROWTH"))
    assert uids(named.search("radiologist", PatientName="GROWTH*")) == both
    assert uids(named.search("radiologist", PatientName="*growth*")) == both  # PN: case-insensitive
    seven = ["1.2.826.0.77.1"]
    assert uids(named.search("radiologist", PatientName="GROWTH^7")) == seven
    assert uids(named.search("radiologist", PatientName="GROWTH?7")) == seven
    assert uids(named.search("radiologist", PatientName="GROWTH*", limit="1")) in (
        [both[0]],
        [both[1]],
    )


def test_a_space_in_a_name_is_matched_or_refused_never_mismatched(named: Named) -> None:
    answer = named.search("radiologist", PatientName="GROWTH^8 JR")
    if named.decodes:
        assert uids(answer) == ["1.2.826.0.77.2"]
    else:
        assert answer.status_code == 501, answer.text  # Orthanc 1.10 cannot be asked this


def test_clinician_name_search_finds_only_own_patients(named: Named) -> None:
    assert uids(named.search("clinician", PatientName="*growth*")) == ["1.2.826.0.77.1"]
    assert uids(named.search("clinician", PatientName="OTHER*")) == []


def test_urls_in_answers_name_the_portal(named: Named) -> None:
    """RetrieveURL (and BulkDataURI) point where the client can fetch: the portal's address."""
    rows = named.search("radiologist", PatientName="GROWTH^7").json()
    url = rows[0]["00081190"]["Value"][0]
    assert url == f"{named.chain.url}/api/pacs/dicom-web/studies/1.2.826.0.77.1"
    followed = requests.get(
        f"{url}/metadata",
        headers={"Authorization": f"Bearer {named.chain.token_pair('radiologist')['access']}"},
        timeout=60,
    )
    assert followed.status_code == 200, followed.text
    bulk = followed.json()[0]["7FE00010"]["BulkDataURI"]
    assert bulk.startswith(f"{url}/series/1.2.826.0.77.1.1/instances/1.2.826.0.77.1.1.1/bulk/")
