"""Byte ranges of authorised frames through the real chain: nginx (the repository's templates) →
gunicorn (portal) → X-Accel-Redirect → Orthanc 1.13 with the NeuroNova plugin (HTJ2K on ingest).

The portal reaches Orthanc through a recording proxy (tests.support.recording_proxy) so a test
sees each call Django makes; nginx fetches the frames from Orthanc directly.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import imagecodecs
import numpy as np
import pydicom
import pytest
import requests
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGBaseline8Bit

from tests.support.portal import PortalChain, make_mr, portal_chain
from tests.support.recording_proxy import RecordingProxy

STUDY, SERIES = "1.2.826.0.1.3680043.10.1717.1", "1.2.826.0.1.3680043.10.1717.1.1"
HTJ2K_SOP, JPEG_SOP = f"{SERIES}.1", f"{SERIES}.2"
RPCL = "1.2.840.10008.1.2.4.202"
CORNERSTONE = "multipart/related; type=application/octet-stream; transfer-syntax=*"
# One gunicorn process: its caches are what a continuation request meets (each process learns
# a study decision and an instance once; docs/portal.md, byte ranges).
ONE_WORKER = ("--workers", "1", "--worker-class", "gthread", "--threads", "4")


@dataclass
class Ranged:
    chain: PortalChain
    proxy: RecordingProxy
    token: str
    pixels: np.ndarray

    def frame(self, sop: str, query: str = "", **headers: str) -> requests.Response:
        path = f"/api/pacs/dicom-web/studies/{STUDY}/series/{SERIES}/instances/{sop}/frames/1"
        headers = {"Authorization": f"Bearer {self.token}", "Accept": CORNERSTONE, **headers}
        url = f"{self.chain.url}{path}{'?' + query if query else ''}"
        return requests.get(url, headers=headers, timeout=30)

    def audit_rows(self) -> int:
        out = self.chain.manage(
            "shell", "-c", "from audit.models import AuditEvent; print(AuditEvent.objects.count())"
        )
        return int(out.strip().splitlines()[-1])


def jpeg_baseline_mr() -> bytes:
    """A lossy JPEG MR slice: the plugin stores lossy images exactly as received."""
    data, _ = make_mr(
        patient_id="NN-DEMO-0001", study_uid=STUDY, series_uid=SERIES, sop_uid=JPEG_SOP, size=128
    )
    ds = pydicom.dcmread(io.BytesIO(data))
    pixels = (np.random.default_rng(3).integers(0, 255, (128, 128))).astype(np.uint8)
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelData = encapsulate([bytes(imagecodecs.jpeg8_encode(pixels, level=90))])
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.InstanceNumber = 2
    ds.LossyImageCompression = "01"
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


@pytest.fixture(scope="module")
def ranged() -> Iterator[Ranged]:
    proxy = RecordingProxy()
    proxy.start()
    env = {"ORTHANC_URL": proxy.url, "PORTAL_DECISION_CACHE_SECONDS": "300"}
    try:
        with portal_chain(env=env, gunicorn_options=ONE_WORKER) as chain:
            proxy.target = chain.orthanc.url
            data, pixels = make_mr(
                patient_id="NN-DEMO-0001",
                study_uid=STUDY,
                series_uid=SERIES,
                sop_uid=HTJ2K_SOP,
                size=256,
                seed=17,
            )
            for dicom in (data, jpeg_baseline_mr()):
                stored = chain.orthanc.session().post(
                    f"{chain.orthanc.url}/instances", data=dicom, timeout=60
                )
                assert stored.status_code == 200, stored.text
            chain.manage("sync_studies")
            yield Ranged(chain, proxy, chain.token_pair("radiologist")["access"], pixels)
    finally:
        proxy.stop()


def test_htj2k_frames_answer_ranges_that_add_up_to_the_lossless_frame(ranged: Ranged) -> None:
    whole = ranged.frame(HTJ2K_SOP)
    assert whole.status_code == 200
    assert whole.headers["Content-Type"] == f"image/jphc; transfer-syntax={RPCL}"
    assert whole.headers["Accept-Ranges"] == "bytes"
    size = len(whole.content)
    assert size > 4096, "a 256x256 noise frame is tens of kB"

    first = ranged.frame(HTJ2K_SOP, Range="bytes=0-4095")
    assert first.status_code == 206
    assert first.headers["Content-Range"] == f"bytes 0-4095/{size}"
    assert first.headers["Content-Type"] == f"image/jphc; transfer-syntax={RPCL}"
    assert first.content == whole.content[:4096]
    assert first.content[:4] == b"\xff\x4f\xff\x51"  # SOC, SIZ: a codestream's first bytes

    rest = ranged.frame(HTJ2K_SOP, Range="bytes=4096-")
    assert rest.status_code == 206
    assert rest.headers["Content-Range"] == f"bytes 4096-{size - 1}/{size}"
    joined = first.content + rest.content
    assert np.array_equal(np.asarray(imagecodecs.htj2k_decode(joined)), ranged.pixels)


def test_a_range_continuation_costs_the_portal_no_orthanc_call_and_no_audit_row(
    ranged: Ranged,
) -> None:
    first = ranged.frame(HTJ2K_SOP, Range="bytes=0-1023")
    assert first.status_code == 206
    rows = ranged.audit_rows()
    ranged.proxy.seen.clear()
    rest = ranged.frame(HTJ2K_SOP, Range="bytes=1024-")
    assert rest.status_code == 206
    assert ranged.proxy.seen == [], "Django asked Orthanc again for a second range"
    assert ranged.audit_rows() == rows, "a continuation is the same decision, audited once"


def test_the_accept_query_parameter_and_image_jhc_get_the_same_ranges(ranged: Ranged) -> None:
    for query, accept in (("accept=image/jhc", CORNERSTONE), ("", "image/jphc")):
        answer = ranged.frame(HTJ2K_SOP, query, Accept=accept, Range="bytes=0-99")
        assert answer.status_code == 206, (query, accept)
        assert answer.headers["Content-Type"] == f"image/jphc; transfer-syntax={RPCL}"
        assert len(answer.content) == 100


def test_odd_ranges(ranged: Ranged) -> None:
    size = len(ranged.frame(HTJ2K_SOP).content)
    several = ranged.frame(HTJ2K_SOP, Range="bytes=0-9,20-29")
    assert several.status_code == 200, "one range per request: more get the whole frame"
    assert len(several.content) == size
    suffix = ranged.frame(HTJ2K_SOP, Range="bytes=-100")
    assert suffix.status_code == 206
    assert suffix.headers["Content-Range"] == f"bytes {size - 100}-{size - 1}/{size}"
    beyond = ranged.frame(HTJ2K_SOP, Range=f"bytes={size}-")
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == f"bytes */{size}"


def test_frames_whose_prefix_does_not_decode_are_answered_whole(ranged: Ranged) -> None:
    answer = ranged.frame(JPEG_SOP, Range="bytes=0-99")
    assert answer.status_code == 200
    assert "Content-Range" not in answer.headers
    assert "Accept-Ranges" not in answer.headers
    assert answer.headers["Content-Type"] == "image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.50"
    assert answer.content[:2] == b"\xff\xd8"
    assert answer.content.rstrip(b"\0")[-2:] == b"\xff\xd9"
