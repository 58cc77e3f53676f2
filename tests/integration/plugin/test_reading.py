"""Reading what we store: Orthanc 1.13's own routes on HTJ2K instances, through the codec plugin.

The shipped configuration (Python plugin re-encoding on ingest + the native HTJ2K codec plugin)
against a plain Orthanc 1.13 (no plugin of ours) holding the same images uncompressed: every
image route answers the same bytes, so /preview, /rendered (window, size, JPEG quality) behave as
Orthanc's and not as a plugin's re-implementation. Export to an Implicit-VR-only peer, modify and
anonymize keep the pixels; /image-uint16 is the original pixels. Needs the codec plugin that
bootstrap builds (orthanc-plugins/htj2k-codec/build/): without it these tests fail.
"""

from __future__ import annotations

import io
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from stack import orthanc_root
from tests.support.orthanc import (
    OrthancProcess,
    free_port,
    running_orthanc,
    synthetic_mr_series,
)

HTJ2K_RPCL = "1.2.840.10008.1.2.4.202"
Pair = tuple[str, str, pydicom.Dataset]  # ours (HTJ2K), plain (as sent), the original


def _bytes(ds: pydicom.Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _upload(orthanc: OrthancProcess, data: bytes) -> str:
    answer = orthanc.session().post(f"{orthanc.url}/instances", data=data, timeout=60)
    answer.raise_for_status()
    return str(answer.json()["ID"])


def _dataset(answer: bytes) -> pydicom.Dataset:
    return pydicom.dcmread(io.BytesIO(answer))


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancProcess]:
    with running_orthanc(tmp_path_factory.mktemp("plain"), plugin=False) as running:
        yield running


def _pair(orthanc: OrthancProcess, plain: OrthancProcess, ds: pydicom.Dataset) -> Pair:
    assert orthanc_root.CODEC_PLUGIN.is_file(), "bootstrap builds the codec plugin"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    data = _bytes(ds)
    ours, reference = _upload(orthanc, data), _upload(plain, data)
    stored = orthanc.session().get(f"{orthanc.url}/instances/{ours}/file", timeout=30).content
    assert _dataset(stored).file_meta.TransferSyntaxUID == HTJ2K_RPCL
    return ours, reference, ds


@pytest.fixture(scope="module")
def mr(orthanc: OrthancProcess, plain: OrthancProcess) -> Pair:
    ds = synthetic_mr_series(1, rows=96, columns=80, seed=7)[0]
    ds.WindowCenter, ds.WindowWidth = 900, 700
    ds.RescaleSlope, ds.RescaleIntercept = 1, -24
    return _pair(orthanc, plain, ds)


@pytest.fixture(scope="module")
def colour(orthanc: OrthancProcess, plain: OrthancProcess) -> Pair:
    path = get_testdata_file("SC_rgb_rle_2frame.dcm")
    assert isinstance(path, str)
    ds = pydicom.dcmread(path)
    ds.decompress()  # plain Orthanc decodes RLE too, but compare like with like
    return _pair(orthanc, plain, ds)


ROUTES = [
    ("/preview", {}),
    ("/frames/0/preview", {}),
    ("/rendered", {}),
    ("/rendered?window-center=1000&window-width=400", {}),
    ("/rendered?window-center=500", {}),  # a centre alone keeps the tags' width
    ("/rendered?width=200", {}),  # larger than the image: Orthanc enlarges
    ("/rendered?width=40&height=200", {}),
    ("/rendered", {"Accept": "image/jpeg"}),  # grey stays grey
    ("/rendered?quality=20", {"Accept": "image/jpeg"}),
    ("/image-uint8", {}),
    ("/image-uint16", {}),
    ("/image-int16", {}),
    ("/matlab", {}),
    ("/numpy", {}),
]


@pytest.mark.parametrize(("route", "headers"), ROUTES)
def test_image_routes_answer_what_plain_orthanc_answers(
    orthanc: OrthancProcess, plain: OrthancProcess, mr: Pair, route: str, headers: dict[str, str]
) -> None:
    ours, reference, _ = mr
    got = orthanc.session().get(f"{orthanc.url}/instances/{ours}{route}", headers=headers)
    want = plain.session().get(f"{plain.url}/instances/{reference}{route}", headers=headers)
    assert (got.status_code, got.headers.get("content-type")) == (
        want.status_code,
        want.headers.get("content-type"),
    )
    assert got.status_code == 200, got.text
    assert got.content == want.content


def test_colour_frames_answer_what_plain_orthanc_answers(
    orthanc: OrthancProcess, plain: OrthancProcess, colour: Pair
) -> None:
    ours, reference, _ = colour
    for route in ("/frames/1/preview", "/frames/1/rendered", "/frames/0/matlab"):
        got = orthanc.session().get(f"{orthanc.url}/instances/{ours}{route}", timeout=30)
        want = plain.session().get(f"{plain.url}/instances/{reference}{route}", timeout=30)
        assert got.status_code == want.status_code == 200, route
        assert got.content == want.content, route
    missing = orthanc.session().get(f"{orthanc.url}/instances/{ours}/frames/5/preview")
    assert (
        missing.status_code
        == plain.session().get(f"{plain.url}/instances/{reference}/frames/5/preview").status_code
    )


def test_errors_are_orthancs_own(orthanc: OrthancProcess) -> None:
    answer = orthanc.session().get(f"{orthanc.url}/instances/no-such-id/rendered", timeout=10)
    assert answer.status_code == 404
    assert "/instances/no-such-id/file" not in answer.text  # no internal URI in the answer


def test_image_uint16_is_the_original_pixels(orthanc: OrthancProcess, mr: Pair) -> None:
    ours, _, ds = mr
    answer = orthanc.session().get(f"{orthanc.url}/instances/{ours}/image-uint16", timeout=30)
    answer.raise_for_status()
    assert answer.headers["content-type"] == "image/png"
    png = np.asarray(Image.open(io.BytesIO(answer.content)))
    assert png.dtype == np.uint16
    assert np.array_equal(png, ds.pixel_array)


def test_modify_and_anonymize_keep_the_pixels(orthanc: OrthancProcess, mr: Pair) -> None:
    ours, _, ds = mr
    session = orthanc.session()
    modified = session.post(
        f"{orthanc.url}/instances/{ours}/modify",
        json={"Replace": {"PatientName": "Changed^Name"}, "Force": True},
        timeout=60,
    )
    anonymized = session.post(f"{orthanc.url}/instances/{ours}/anonymize", json={}, timeout=60)
    for answer in (modified, anonymized):
        assert answer.status_code == 200, answer.text
        result = _dataset(answer.content)
        assert result.file_meta.TransferSyntaxUID == HTJ2K_RPCL  # still compressed, not lost
        assert np.array_equal(result.pixel_array, ds.pixel_array)
    assert _dataset(modified.content).PatientName == "Changed^Name"
    assert _dataset(anonymized.content).PatientName != ds.PatientName
    transcoded = session.post(
        f"{orthanc.url}/instances/{ours}/modify",
        json={"Transcode": "1.2.840.10008.1.2", "Force": True, "Keep": ["SOPInstanceUID"]},
        timeout=60,
    )
    assert transcoded.status_code == 200, transcoded.text
    assert _dataset(transcoded.content).file_meta.TransferSyntaxUID == "1.2.840.10008.1.2"
    assert np.array_equal(_dataset(transcoded.content).pixel_array, ds.pixel_array)


def test_export_to_an_implicit_vr_only_peer_is_pixel_identical(
    tmp_path: Path, mr: Pair, colour: Pair
) -> None:
    """C-STORE from the shipped configuration to dcmtk's storescp +xi (Implicit VR LE only)."""
    received, port = tmp_path / "received", free_port()
    received.mkdir()
    peer = {"implicit": {"AET": "IMPLICIT", "Host": "127.0.0.1", "Port": port}}
    storescp = subprocess.Popen(
        ["storescp", "+xi", "-aet", "IMPLICIT", "-od", str(received), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with running_orthanc(
            tmp_path / "orthanc", neuronova={"Ai": False}, overrides={"DicomModalities": peer}
        ) as orthanc:
            originals = {}
            for _, _, ds in (mr, colour):
                originals[str(ds.SOPInstanceUID)] = ds
                stored = _upload(orthanc, _bytes(ds))
                answer = orthanc.session().post(
                    f"{orthanc.url}/modalities/implicit/store", json=[stored], timeout=120
                )
                assert answer.status_code == 200, answer.text
        deadline = time.monotonic() + 30
        while len(list(received.iterdir())) < len(originals) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        storescp.terminate()
        storescp.wait(timeout=30)
    files = [pydicom.dcmread(path) for path in received.iterdir()]
    assert sorted(str(f.SOPInstanceUID) for f in files) == sorted(originals)
    for delivered in files:
        assert delivered.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2"
        original = originals[str(delivered.SOPInstanceUID)]
        assert np.array_equal(delivered.pixel_array, original.pixel_array)


def test_explorer_and_metrics(orthanc: OrthancProcess, mr: Pair) -> None:
    session = orthanc.session()
    assert session.get(f"{orthanc.url}/app/explorer.html", timeout=10).status_code == 200
    metrics = session.get(f"{orthanc.url}/neuronova/metrics", timeout=10).text
    assert (
        'neuronova_ingest_instances_transcoded_total{transfer_syntax="1.2.840.10008.1.2.4.202"}'
        in metrics
    )
    assert "neuronova_ingest_encode_seconds_bucket" in metrics
