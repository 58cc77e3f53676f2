"""Door 12: a clinician's QIDO never makes Orthanc search beyond the clinician's own patients.

The real chain (nginx → gunicorn → Orthanc with the plugin). The portal reaches Orthanc through
a recording pass-through proxy (this file), so the test sees every query Orthanc receives, byte
for byte, while Orthanc still answers for real. Each clinician search, however it is phrased
(an empty or wildcard PatientID, a tag number, another patient's study UID, no paging), must
reach Orthanc carrying the clinician's own PatientIDs and a bounded ``limit``, and answer only
the clinician's studies.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import requests

from tests.support.portal import PortalChain, make_mr, portal_chain
from tests.support.recording_proxy import RecordingProxy

OWN = "NN-DEMO-0001"  # the dev clinician's seeded patient
OTHERS = [f"NN-OTHER-{n}" for n in range(6)]
MAX_RESULTS = 20
OWN_STUDY = "1.2.826.0.42.1"
VICTIM_STUDY = "1.2.826.0.42.2"


@dataclass
class Scoped:
    chain: PortalChain
    proxy: RecordingProxy
    token: str


@pytest.fixture(scope="module")
def scoped() -> Iterator[Scoped]:
    proxy = RecordingProxy()
    proxy.start()
    env = {"ORTHANC_URL": proxy.url, "PORTAL_QIDO_MAX_RESULTS": str(MAX_RESULTS)}
    try:
        with portal_chain(env=env) as chain:
            proxy.target = chain.orthanc.url
            studies = [
                (OWN, OWN_STUDY),
                *((pid, f"1.2.826.0.43.{n}") for n, pid in enumerate(OTHERS)),
            ]
            studies.append((OTHERS[0], VICTIM_STUDY))
            for n, (patient_id, study_uid) in enumerate(studies):
                data, _ = make_mr(
                    patient_id=patient_id,
                    study_uid=study_uid,
                    series_uid=f"{study_uid}.1",
                    sop_uid=f"{study_uid}.1.1",
                    seed=n,
                )
                stored = chain.orthanc.session().post(
                    f"{chain.orthanc.url}/instances", data=data, timeout=60
                )
                assert stored.status_code == 200, stored.text
            chain.manage("sync_studies")
            yield Scoped(chain, proxy, chain.token_pair("clinician")["access"])
    finally:
        proxy.stop()


def search(scoped: Scoped, query: str) -> list[str]:
    scoped.proxy.seen.clear()
    answer = requests.get(
        f"{scoped.chain.url}/api/pacs/dicom-web/studies?{query}",
        headers={"Authorization": f"Bearer {scoped.token}", "Accept": "application/dicom+json"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return sorted(row["0020000D"]["Value"][0] for row in answer.json())


@pytest.mark.parametrize(
    "query",
    [
        "",
        "PatientID=",
        "PatientID=*",
        "00100020=",
        "00100020=*",
        "PatientName=*",
        f"PatientID={OTHERS[0]},{OWN}",
        f"StudyInstanceUID={VICTIM_STUDY}",
        "limit=100000",
        "PatientID=&limit=0&offset=0",
    ],
)
def test_every_clinician_search_is_constrained_to_own_patients(scoped: Scoped, query: str) -> None:
    found = search(scoped, query)
    assert set(found) <= {OWN_STUDY}
    if "StudyInstanceUID" not in query:
        assert found == [OWN_STUDY]
    asked = scoped.proxy.qido()
    assert asked, "the portal asked Orthanc nothing: the test would prove nothing"
    for target in asked:
        arguments = [field.partition("=") for field in urlsplit(target).query.split("&")]
        patient_ids = [value for key, _, value in arguments if key in ("PatientID", "00100020")]
        limits = [int(value) for key, _, value in arguments if key == "limit"]
        assert patient_ids == [OWN], (query, target)
        assert limits, (query, target)
        assert 0 < limits[-1] <= MAX_RESULTS + 1, (query, target)


def test_a_client_patient_id_outside_own_patients_asks_orthanc_nothing(scoped: Scoped) -> None:
    assert search(scoped, f"PatientID={OTHERS[1]}") == []
    assert scoped.proxy.qido() == []
