"""The portal through the real chain: nginx (the stack's own templates) → gunicorn (portal)
→ X-Accel-Redirect → Orthanc with the NeuroNova plugin (HTJ2K on ingest)."""

from __future__ import annotations

import http.client
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import imagecodecs
import numpy as np
import pydicom
import pytest
import requests
from dicomweb_client.api import DICOMwebClient
from PIL import Image

from tests.support.portal import PortalChain, bad_tokens, make_mr, portal_chain

ROOT = "1.2.826.0.1.3680043.10.1234"
S1, SE1 = f"{ROOT}.1", f"{ROOT}.1.1"  # NN-DEMO-0001, assigned to clinician by seed_dev_users
S2, SE2 = f"{ROOT}.2", f"{ROOT}.2.1"  # NN-IT-OTHER, assigned to clinician2 here
I1A, I1B, I2 = f"{SE1}.1", f"{SE1}.2", f"{SE2}.1"
HTJ2K_RPCL = "1.2.840.10008.1.2.4.202"
CORNERSTONE = "multipart/related; type=application/octet-stream; transfer-syntax=*"


@dataclass
class Loaded:
    chain: PortalChain
    pixels: dict[str, np.ndarray]
    upload_results: list[dict[str, str]]
    pairs: dict[str, dict[str, str]]

    def access(self, username: str) -> str:
        """One login per user for the module: password hashing is deliberately slow."""
        if username not in self.pairs:
            self.pairs[username] = self.chain.token_pair(username)
        return self.pairs[username]["access"]

    def get(self, path: str, token: str | None = None, **headers: str) -> requests.Response:
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.get(self.chain.url + path, headers=headers, timeout=20)


@pytest.fixture(scope="module")
def loaded() -> Iterator[Loaded]:
    with portal_chain() as chain:
        chain.manage("assign_patient", "clinician2", "NN-IT-OTHER")
        files, pixels = [], {}
        for n, (patient, study, series, sop) in enumerate(
            [
                ("NN-DEMO-0001", S1, SE1, I1A),
                ("NN-DEMO-0001", S1, SE1, I1B),
                ("NN-IT-OTHER", S2, SE2, I2),
            ]
        ):
            data, pixels[sop] = make_mr(
                patient_id=patient, study_uid=study, series_uid=series, sop_uid=sop, seed=n
            )
            files.append(("files", (f"{sop}.dcm", data, "application/dicom")))
        token = chain.token_pair("radiologist")["access"]
        answer = requests.post(
            f"{chain.url}/api/pacs/upload",
            files=files,
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        yield Loaded(chain, pixels, answer.json()["results"], {})


def frames_path(study: str, series: str, sop: str, frames: str = "1") -> str:
    return f"/api/pacs/dicom-web/studies/{study}/series/{series}/instances/{sop}/frames/{frames}"


def routes(study: str, series: str, sop: str) -> dict[str, str]:
    return {
        "qido-studies": "/api/pacs/dicom-web/studies",
        "qido-series": f"/api/pacs/dicom-web/studies/{study}/series",
        "metadata": f"/api/pacs/dicom-web/studies/{study}/series/{series}/metadata",
        "frames": frames_path(study, series, sop),
        "wado-uri": f"/api/pacs/wado?requestType=WADO&studyUID={study}&seriesUID={series}"
        f"&objectUID={sop}&contentType=application%2Fdicom",
        "thumbnail": f"/api/pacs/dicom-web/studies/{study}/series/{series}/thumbnail",
        "reports": f"/api/studies/{study}/report",
    }


def test_upload_results_per_file(loaded: Loaded) -> None:
    assert [r["status"] for r in loaded.upload_results] == ["stored"] * 3
    chain = loaded.chain
    clinician = loaded.access("clinician")
    again, _ = make_mr(patient_id="NN-DEMO-0001", study_uid=S1, series_uid=SE1, sop_uid=I1A, seed=0)
    foreign, _ = make_mr(
        patient_id="NN-IT-OTHER", study_uid=S2, series_uid=SE2, sop_uid=f"{SE2}.99", seed=9
    )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("dup.dcm", again)
        zipped.writestr("notes.txt", b"not dicom")
    answer = requests.post(
        f"{chain.url}/api/pacs/upload",
        files=[
            ("files", ("batch.zip", archive.getvalue(), "application/zip")),
            ("files", ("foreign.dcm", foreign, "application/dicom")),
        ],
        headers={"Authorization": f"Bearer {clinician}"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    by_name = {r["name"]: r for r in answer.json()["results"]}
    assert by_name["batch.zip:dup.dcm"]["status"] == "duplicate"
    assert by_name["batch.zip:notes.txt"]["status"] == "rejected"
    assert by_name["foreign.dcm"]["status"] == "rejected"
    assert "not assigned" in by_name["foreign.dcm"]["reason"]


def test_bad_tokens_are_refused_on_every_route(loaded: Loaded) -> None:
    chain = loaded.chain
    pair = chain.token_pair("radiologist")
    revoked = chain.token_pair("radiologist")
    out = requests.post(
        f"{chain.url}/api/auth/logout",
        json={"refresh": revoked["refresh"]},
        headers={"Authorization": f"Bearer {revoked['access']}"},
        timeout=10,
    )
    assert out.status_code == 204
    tokens = bad_tokens(
        valid_access=pair["access"],
        valid_refresh=pair["refresh"],
        signing_key=chain.env.get("JWT_SIGNING_KEY", _dev_jwt_key()),
    )
    tokens["revoked"] = revoked["access"]
    tokens["no-token"] = ""
    for name, path in routes(S1, SE1, I1A).items():
        # Frames in their stored syntax, as the viewer asks: without an Accept that takes it,
        # Orthanc itself would have to transcode HTJ2K (docs/portal.md, image gateway).
        headers = {"Accept": CORNERSTONE} if name == "frames" else {}
        assert loaded.get(path, pair["access"], **headers).status_code == 200, name
        for token_name, token in tokens.items():
            assert loaded.get(path, token).status_code == 401, (name, token_name)
    for token_name, token in tokens.items():
        upload = requests.post(
            f"{chain.url}/api/pacs/upload",
            files=[("files", ("x.dcm", b"x", "application/dicom"))],
            headers={"Authorization": f"Bearer {token}"} if token else {},
            timeout=10,
        )
        assert upload.status_code == 401, token_name


def _dev_jwt_key() -> str:
    from neuronova_portal.config import DEV_JWT_SIGNING_KEY  # noqa: PLC0415

    return DEV_JWT_SIGNING_KEY


def test_clinician_is_refused_another_clinicians_patient_everywhere(loaded: Loaded) -> None:
    other = loaded.access("clinician2")
    for name, path in routes(S1, SE1, I1A).items():
        response = loaded.get(path, other)
        if name == "qido-studies":
            assert response.status_code == 200
            assert [r["0020000D"]["Value"][0] for r in response.json()] == [S2]
        else:
            assert response.status_code == 403, (name, response.status_code)
    listed = loaded.get("/api/studies", other).json()
    assert [row["study_uid"] for row in listed["results"]] == [S2]
    own = loaded.get(frames_path(S2, SE2, I2), other, Accept=CORNERSTONE)
    assert own.status_code == 200


def test_radiologist_and_assigned_clinician_read_frames_labelled_and_lossless(
    loaded: Loaded,
) -> None:
    orthanc = loaded.chain.orthanc
    for username in ("radiologist", "clinician"):
        token = loaded.access(username)
        for sop in (I1A, I1B):
            response = loaded.get(frames_path(S1, SE1, sop), token, Accept=CORNERSTONE)
            assert response.status_code == 200, response.text
            media_type, _, ts = response.headers["Content-Type"].partition("; transfer-syntax=")
            assert media_type == "image/jphc"  # PS3.18's media type for HTJ2K
            found = orthanc.session().post(
                f"{orthanc.url}/tools/find",
                json={"Level": "Instance", "Query": {"SOPInstanceUID": sop}},
                timeout=10,
            )
            stored = orthanc.session().get(
                f"{orthanc.url}/instances/{found.json()[0]}/file", timeout=10
            )
            assert ts == pydicom.dcmread(io.BytesIO(stored.content)).file_meta.TransferSyntaxUID
            assert np.array_equal(_decode(response.content, ts), loaded.pixels[sop])


def _decode(body: bytes, transfer_syntax: str) -> np.ndarray:
    if transfer_syntax.startswith("1.2.840.10008.1.2.4.20"):
        return np.asarray(imagecodecs.htj2k_decode(body))
    assert transfer_syntax == "1.2.840.10008.1.2.1"
    return np.frombuffer(body, dtype="<u2").reshape(64, 64)


def test_thumbnails_at_every_level_are_pictures_of_the_study(loaded: Loaded) -> None:
    base = f"/api/pacs/dicom-web/studies/{S1}"
    for user in ("radiologist", "clinician"):
        token = loaded.access(user)
        for path in (base, f"{base}/series/{SE1}", f"{base}/series/{SE1}/instances/{I1A}"):
            answer = loaded.get(f"{path}/thumbnail", token, Accept="image/png")
            assert answer.status_code == 200, (user, path, answer.text[:200])
            assert answer.headers["Content-Type"] == "image/png"
            picture = np.asarray(Image.open(io.BytesIO(answer.content)))
            assert picture.dtype == np.uint8
            assert max(picture.shape) <= 128
            assert picture.std() > 10  # the noise image, not a blank
    # The instance's own pixels (HTJ2K in the archive), stretched min..max like Orthanc's preview.
    answer = loaded.get(
        f"{base}/series/{SE1}/instances/{I1A}/thumbnail?viewport=64,64",
        loaded.access("clinician"),
        Accept="image/jpeg",
    )
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "image/jpeg"
    picture = np.asarray(Image.open(io.BytesIO(answer.content)), dtype=np.float64)
    original = loaded.pixels[I1A].astype(np.float64)
    assert picture.shape == original.shape
    assert np.corrcoef(picture.ravel(), original.ravel())[0, 1] > 0.95


def test_dicomweb_client_searches_reads_metadata_and_frames(loaded: Loaded) -> None:
    token = loaded.access("clinician")
    client = DICOMwebClient(
        url=f"{loaded.chain.url}/api/pacs/dicom-web", headers={"Authorization": f"Bearer {token}"}
    )
    studies = client.search_for_studies()
    assert [s["0020000D"]["Value"][0] for s in studies] == [S1]
    metadata = client.retrieve_series_metadata(S1, SE1)
    assert sorted(m["00080018"]["Value"][0] for m in metadata) == [I1A, I1B]
    frames = client.retrieve_instance_frames(
        S1, SE1, I1B, frame_numbers=[1], media_types=(("application/octet-stream", "*"),)
    )
    # DICOMweb metadata does not carry (0002,0010); the plugin stores HTJ2K (a J2K codestream).
    assert frames[0][:2] == b"\xff\x4f", "expected the stored HTJ2K codestream"
    assert np.array_equal(_decode(frames[0], HTJ2K_RPCL), loaded.pixels[I1B])


def _raw_get(url: str, path: str, token: str) -> int:
    """Send the path exactly as written (requests would normalise dot segments)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        connection.putheader("Authorization", f"Bearer {token}")
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.parametrize(
    "path",
    [
        "/api/pacs/dicom-web/studies/1.2/../../../../internal-orthanc/system",
        f"/api/pacs/dicom-web/studies/{S1}/../../../system",
        f"/api/pacs/dicom-web/studies/{S1}/%2e%2e/%2e%2e/system",
        f"/api/pacs/dicom-web/studies//{S1}/series",
        f"/api/pacs/dicom-web/studies/{S1}%2Fseries",
        f"/api/pacs/dicom-web/studies/{S1}%0d%0aX-Evil:%201/series",
        f"/api/pacs/dicom-web/studies/{S1}/series/{SE2}/metadata",
        frames_path(S1, SE2, I2),
        f"/api/pacs/wado?requestType=WADO&studyUID={S1}&seriesUID={SE2}&objectUID={I2}",
        "/api/pacs/dicom-web/tools/find",
        "/internal-orthanc/system",
        "/internal-orthanc-raw/system",
        "/internal-orthanc-ranges/system",
        "/api/pacs/dicom-web/../../internal-orthanc/system",
    ],
)
def test_path_tricks_are_refused(loaded: Loaded, path: str) -> None:
    token = loaded.access("radiologist")
    assert _raw_get(loaded.chain.url, path, token) in (400, 404)


def test_cookie_session_reads_frames_without_a_header(loaded: Loaded) -> None:
    browser = requests.Session()
    login = browser.post(
        f"{loaded.chain.url}/api/auth/login",
        json={"username": "clinician", "password": "clinician-dev-pass"},
        timeout=10,
    )
    assert login.status_code == 200
    response = browser.get(
        loaded.chain.url + frames_path(S1, SE1, I1A), headers={"Accept": CORNERSTONE}, timeout=10
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("image/jphc; transfer-syntax=")


def test_metrics_from_django_and_not_public(loaded: Loaded) -> None:
    assert requests.get(f"{loaded.chain.url}/api/metrics", timeout=10).status_code == 404
    body = requests.get(f"{loaded.chain.django_url}/api/metrics", timeout=10).text
    assert 'neuronova_celery_queue_length{queue="inference"}' in body
    assert "neuronova_authz_decisions_total" in body
    assert "neuronova_logins_total" in body
