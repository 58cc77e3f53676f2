"""Byte ranges are the same door as whole frames: a Range request is authorised (and audited)
by Django before nginx cuts a single byte out of a frame, so a clinician who is not assigned to
the study gets no bytes of it, however the range is phrased; the ranged location itself is
unreachable from outside.

The real chain: nginx (the repository's templates) → gunicorn → X-Accel-Redirect → Orthanc 1.13
with the NeuroNova plugin, which stores the slices as RPCL HTJ2K (the syntax nginx serves ranges
for).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from tests.support.portal import PortalChain, make_mr, portal_chain

OWN_PATIENT, OTHER_PATIENT = "NN-DEMO-0001", "NN-RANGE-OTHER"  # clinician's; clinician2's
OWN_STUDY, OTHER_STUDY = "1.2.826.0.1.3680043.10.1718.1", "1.2.826.0.1.3680043.10.1718.2"
CORNERSTONE = "multipart/related; type=application/octet-stream; transfer-syntax=*"
RANGES = ["bytes=0-65535", "bytes=0-", "bytes=-500", "bytes=100-199", "bytes=0-9,20-29"]
SOC_SIZ = b"\xff\x4f\xff\x51"  # every HTJ2K codestream starts with these


@dataclass
class Chain:
    chain: PortalChain
    tokens: dict[str, str]

    def frame(self, study: str, username: str | None, **headers: str) -> requests.Response:
        path = (
            f"/api/pacs/dicom-web/studies/{study}/series/{study}.1/instances/{study}.1.1/frames/1"
        )
        headers = {"Accept": CORNERSTONE, **headers}
        if username:
            headers["Authorization"] = f"Bearer {self.tokens[username]}"
        return requests.get(self.chain.url + path, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def ranged() -> Iterator[Chain]:
    with portal_chain() as chain:
        chain.manage("assign_patient", "clinician2", OTHER_PATIENT)
        for n, (patient, study) in enumerate(
            [(OWN_PATIENT, OWN_STUDY), (OTHER_PATIENT, OTHER_STUDY)]
        ):
            data, _ = make_mr(
                patient_id=patient,
                study_uid=study,
                series_uid=f"{study}.1",
                sop_uid=f"{study}.1.1",
                size=256,
                seed=n,
            )
            stored = chain.orthanc.session().post(
                f"{chain.orthanc.url}/instances", data=data, timeout=60
            )
            assert stored.status_code == 200, stored.text
        chain.manage("sync_studies")
        tokens = {u: chain.token_pair(u)["access"] for u in ("clinician", "clinician2")}
        yield Chain(chain, tokens)


def assert_no_frame_bytes(answer: requests.Response) -> None:
    assert "Content-Range" not in answer.headers
    assert "Accept-Ranges" not in answer.headers
    assert SOC_SIZ not in answer.content
    assert answer.headers["Content-Type"] == "application/json"
    assert len(answer.content) < 200  # {"detail": …}, never a part of the frame


def test_the_assigned_clinician_gets_ranges_of_her_own_study(ranged: Chain) -> None:
    answer = ranged.frame(OWN_STUDY, "clinician", Range="bytes=0-65535")
    assert answer.status_code == 206
    assert answer.content.startswith(SOC_SIZ)


@pytest.mark.parametrize("byte_range", RANGES)
def test_a_clinician_not_assigned_to_the_study_gets_no_bytes(
    ranged: Chain, byte_range: str
) -> None:
    answer = ranged.frame(OWN_STUDY, "clinician2", Range=byte_range)
    assert answer.status_code == 403
    assert_no_frame_bytes(answer)
    with_if_range = ranged.frame(
        OWN_STUDY, "clinician2", Range=byte_range, **{"If-Range": "Thu, 01 Jan 1970 00:00:00 GMT"}
    )
    assert with_if_range.status_code == 403
    assert_no_frame_bytes(with_if_range)


@pytest.mark.parametrize("byte_range", RANGES)
def test_no_token_gets_no_bytes(ranged: Chain, byte_range: str) -> None:
    answer = ranged.frame(OWN_STUDY, None, Range=byte_range)
    assert answer.status_code == 401
    assert_no_frame_bytes(answer)


def test_the_refused_range_is_audited_as_a_denial(ranged: Chain) -> None:
    ranged.frame(OWN_STUDY, "clinician2", Range="bytes=0-99")
    out = ranged.chain.manage(
        "shell",
        "-c",
        "from audit.models import AuditEvent as A; "
        f"print(A.objects.filter(username='clinician2', study_uid='{OWN_STUDY}', "
        "allowed=False, status_code=403).count())",
    )
    assert int(out.strip().splitlines()[-1]) >= 1


@pytest.mark.parametrize(
    "path", ["/internal-orthanc-ranges/system", "/internal-orthanc-ranges/instances"]
)
def test_the_ranged_location_is_not_reachable_from_outside(ranged: Chain, path: str) -> None:
    answer = requests.get(
        ranged.chain.url + path,
        headers={"Authorization": f"Bearer {ranged.tokens['clinician']}", "Range": "bytes=0-"},
        timeout=10,
    )
    assert answer.status_code == 404
    assert "Content-Range" not in answer.headers
