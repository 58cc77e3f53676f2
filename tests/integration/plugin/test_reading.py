"""HTJ2K-aware reading on Orthanc 1.10: Explorer previews, /rendered, legacy Explicit VR LE."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
import requests
from neuronova_plugin import render
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from tests.support.orthanc import OrthancProcess, synthetic_mr_series

pytestmark = pytest.mark.integration
Stored = tuple[str, pydicom.Dataset]


def _testdata(name: str) -> str:
    path = get_testdata_file(name)
    assert isinstance(path, str)
    return path


def _upload(orthanc: OrthancProcess, ds: pydicom.Dataset) -> str:
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    answer = orthanc.session().post(f"{orthanc.url}/instances", data=buffer.getvalue(), timeout=30)
    answer.raise_for_status()
    return str(answer.json()["ID"])


def _stored_ts(orthanc: OrthancProcess, orthanc_id: str) -> str:
    url = f"{orthanc.url}/instances/{orthanc_id}/file"
    stored = pydicom.dcmread(io.BytesIO(orthanc.session().get(url, timeout=10).content))
    return str(stored.file_meta.TransferSyntaxUID)


@pytest.fixture(scope="module")
def mr(orthanc: OrthancProcess) -> Stored:
    ds = synthetic_mr_series(1, rows=96, columns=80, seed=7)[0]
    orthanc_id = _upload(orthanc, ds)
    assert _stored_ts(orthanc, orthanc_id) == "1.2.840.10008.1.2.4.202"
    return orthanc_id, ds


def _png(response: requests.Response) -> np.ndarray:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return np.asarray(Image.open(io.BytesIO(response.content)))


def test_preview_of_htj2k_instance_is_png(orthanc: OrthancProcess, mr: Stored) -> None:
    orthanc_id, ds = mr
    session = orthanc.session()
    for uri in (f"/instances/{orthanc_id}/preview", f"/instances/{orthanc_id}/frames/0/preview"):
        image = _png(session.get(f"{orthanc.url}{uri}", timeout=30))
        assert image.shape == (96, 80)
        assert np.array_equal(image, render.preview(ds.pixel_array, "MONOCHROME2"))


def test_rendered_applies_window_size_and_jpeg(orthanc: OrthancProcess, mr: Stored) -> None:
    orthanc_id, ds = mr
    session, base = orthanc.session(), f"{orthanc.url}/instances/{orthanc_id}/rendered"
    image = _png(session.get(base, params={"window-center": 1000, "window-width": 400}))
    values = ds.pixel_array.astype(float)
    expected = np.clip((values - 800) * 255 / 400, 0, 255)
    assert np.abs(image - expected).max() <= 0.5 + 1e-6  # rounding only
    small = _png(session.get(base, params={"width": 40}, timeout=30))
    assert small.shape[1] == 40
    jpeg = session.get(base, headers={"Accept": "image/jpeg"}, timeout=30)
    assert jpeg.headers["content-type"] == "image/jpeg"
    assert jpeg.content[:2] == b"\xff\xd8"


def test_multiframe_colour_frame_preview(orthanc: OrthancProcess) -> None:
    ds = pydicom.dcmread(_testdata("SC_rgb_rle_2frame.dcm"))
    original = ds.pixel_array
    orthanc_id = _upload(orthanc, ds)
    assert _stored_ts(orthanc, orthanc_id) == "1.2.840.10008.1.2.4.202"
    url = f"{orthanc.url}/instances/{orthanc_id}/frames/1/preview"
    assert np.array_equal(_png(orthanc.session().get(url, timeout=30)), original[1])
    missing = orthanc.session().get(f"{orthanc.url}/instances/{orthanc_id}/frames/5/preview")
    assert missing.status_code == 400


def test_non_htj2k_instances_use_orthancs_own_rendering(orthanc: OrthancProcess) -> None:
    orthanc_id = _upload(orthanc, pydicom.dcmread(_testdata("JPEG-lossy.dcm")))
    assert _stored_ts(orthanc, orthanc_id) == "1.2.840.10008.1.2.4.51"
    image = _png(orthanc.session().get(f"{orthanc.url}/instances/{orthanc_id}/preview"))
    assert image.shape[:2] == (1024, 256)  # Orthanc decoded the JPEG itself


def test_unknown_instance_is_404(orthanc: OrthancProcess) -> None:
    answer = orthanc.session().get(f"{orthanc.url}/instances/no-such-id/preview", timeout=10)
    assert answer.status_code == 404


def test_legacy_explicit_little_endian(orthanc: OrthancProcess, mr: Stored) -> None:
    orthanc_id, ds = mr
    session = orthanc.session()
    whole = session.get(f"{orthanc.url}/neuronova/instances/{orthanc_id}/explicit-le", timeout=30)
    assert whole.headers["content-type"] == "application/dicom"
    decoded = pydicom.dcmread(io.BytesIO(whole.content))
    assert decoded.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert decoded.SOPInstanceUID == ds.SOPInstanceUID
    assert np.array_equal(decoded.pixel_array, ds.pixel_array)
    url = f"{orthanc.url}/neuronova/instances/{orthanc_id}/frames/0/explicit-le"
    frame = session.get(url, timeout=30)
    assert frame.headers["content-type"].endswith("transfer-syntax=1.2.840.10008.1.2.1")
    assert frame.content == ds.PixelData


def test_explorer_and_metrics(orthanc: OrthancProcess, mr: Stored) -> None:
    session = orthanc.session()
    assert session.get(f"{orthanc.url}/app/explorer.html", timeout=10).status_code == 200
    metrics = session.get(f"{orthanc.url}/neuronova/metrics", timeout=10).text
    assert (
        'neuronova_ingest_instances_transcoded_total{transfer_syntax="1.2.840.10008.1.2.4.202"}'
        in metrics
    )
    assert "neuronova_ingest_encode_seconds_bucket" in metrics
