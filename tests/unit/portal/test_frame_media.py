"""Frames: the media type they are labelled with, the Accept negotiation, and where nginx may cut
byte ranges (pacs.media, and the frames route through Django's test client with a fake Orthanc).
"""

from __future__ import annotations

import pytest
from accounts import services as account_services
from authz.identity import orthanc_id
from clinical.models import Patient, Study
from django.core.cache import cache
from django.test import Client
from pacs.media import FrameAnswer, media_type_of, negotiate, parse_accept

from tests.support.portal_fakes import FakeOrthanc, bearer

RPCL = "1.2.840.10008.1.2.4.202"
HT_LOSSLESS = "1.2.840.10008.1.2.4.201"
HT_ANY = "1.2.840.10008.1.2.4.203"
EXPLICIT = "1.2.840.10008.1.2.1"
JPEG_LS = "1.2.840.10008.1.2.4.80"
CORNERSTONE = "multipart/related; type=application/octet-stream; transfer-syntax=*"


@pytest.mark.parametrize(
    ("transfer_syntax", "media_type"),
    [
        (RPCL, "image/jphc"),
        (HT_LOSSLESS, "image/jphc"),
        (HT_ANY, "image/jphc"),
        (JPEG_LS, "image/jls"),
        ("1.2.840.10008.1.2.4.90", "image/jp2"),
        ("1.2.840.10008.1.2.4.50", "image/jpeg"),
        ("1.2.840.10008.1.2.5", "image/dicom-rle"),
        (EXPLICIT, "application/octet-stream"),
    ],
)
def test_each_stored_syntax_has_its_ps318_media_type(transfer_syntax: str, media_type: str) -> None:
    assert media_type_of(transfer_syntax) == media_type


def test_accept_values_are_read_with_quoted_and_nested_parameters() -> None:
    ranges = parse_accept(
        f'multipart/related; type="image/jphc; transfer-syntax={RPCL}", '
        "image/jhc;q=0.5, application/octet-stream; transfer-syntax=*"
    )
    assert [(r.media_type, r.transfer_syntax, r.multipart, r.quality) for r in ranges] == [
        ("image/jphc", RPCL, True, 1.0),
        ("image/jphc", "", False, 0.5),  # cornerstone's examples' name for HTJ2K
        ("application/octet-stream", "*", False, 1.0),
    ]


@pytest.mark.parametrize(
    ("accept", "answer"),
    [
        # cornerstone / OHIF: any syntax, read as a single part; labelled as PS3.18 names HTJ2K
        (CORNERSTONE, FrameAnswer(f"image/jphc; transfer-syntax={RPCL}", single_part=True)),
        ("image/jphc", FrameAnswer(f"image/jphc; transfer-syntax={RPCL}", single_part=True)),
        ("image/jhc", FrameAnswer(f"image/jphc; transfer-syntax={RPCL}", single_part=True)),
        (
            f"image/jphc; transfer-syntax={RPCL}",
            FrameAnswer(f"image/jphc; transfer-syntax={RPCL}", single_part=True),
        ),
        # an RPCL lossless stream is also a valid .201 and .203 stream: said as asked
        (
            f"multipart/related; type=image/jphc; transfer-syntax={HT_LOSSLESS}",
            FrameAnswer(f"image/jphc; transfer-syntax={HT_LOSSLESS}", single_part=False),
        ),
        (
            f'multipart/related; type="image/jphc"; transfer-syntax={HT_ANY}',
            FrameAnswer(f"image/jphc; transfer-syntax={HT_ANY}", single_part=False),
        ),
        (
            'multipart/related; type="application/octet-stream"; transfer-syntax=*',
            FrameAnswer(f"image/jphc; transfer-syntax={RPCL}", single_part=False),
        ),
        # what the stored frame cannot be without transcoding: Orthanc's to do or refuse
        ("multipart/related; type=application/octet-stream", None),  # Explicit VR LE
        ("", None),
        ("*/*", None),
        ("image/jls", None),
        (f"image/jphc; transfer-syntax={RPCL}; q=0", None),
        ("image/jphc;q=0, image/jpeg", None),
    ],
)
def test_htj2k_rpcl_frames_are_served_as_stored_when_the_client_takes_them(
    accept: str, answer: FrameAnswer | None
) -> None:
    cornerstone = accept == CORNERSTONE
    assert negotiate(accept, RPCL, cornerstone=cornerstone) == answer


def test_a_lossless_only_stream_is_not_offered_as_rpcl() -> None:
    assert negotiate(f"image/jphc; transfer-syntax={RPCL}", HT_LOSSLESS, cornerstone=False) is None
    assert negotiate("image/jphc", HT_LOSSLESS, cornerstone=False) == FrameAnswer(
        f"image/jphc; transfer-syntax={HT_LOSSLESS}", single_part=True
    )


def test_native_frames_are_octets() -> None:
    assert negotiate(CORNERSTONE, EXPLICIT, cornerstone=True) == FrameAnswer(
        f"application/octet-stream; transfer-syntax={EXPLICIT}", single_part=True
    )
    assert negotiate("image/jphc", EXPLICIT, cornerstone=False) is None


# ---- the frames route ------------------------------------------------------------------------

S1, SE1 = "1.2.826.0.1.1", "1.2.826.0.1.1.1"
PATIENT = "NN-DEMO-0001"
STORED = {"1.2.826.0.1.1.1.1": RPCL, "1.2.826.0.1.1.1.7": EXPLICIT, "1.2.826.0.1.1.1.8": JPEG_LS}


@pytest.fixture
def frames_client(fake_orthanc: FakeOrthanc) -> Client:
    cache.clear()
    account_services.seed_dev_users()
    patient = Patient.objects.create(patient_id=PATIENT, patient_name="Range^Test")
    Study.objects.create(
        study_uid=S1,
        claimed_uid=S1,
        orthanc_study_id=orthanc_id(PATIENT, S1),
        patient=patient,
    )
    for sop_uid, syntax in STORED.items():
        fake_orthanc.add(
            patient_id=PATIENT,
            study_uid=S1,
            series_uid=SE1,
            sop_uid=sop_uid,
            transfer_syntax=syntax,
        )
    return Client()


def instance(sop_uid: str) -> str:
    return orthanc_id(PATIENT, S1, SE1, sop_uid)


def frame_url(sop_uid: str, query: str = "") -> str:
    path = f"/api/pacs/dicom-web/studies/{S1}/series/{SE1}/instances/{sop_uid}/frames/1"
    return f"{path}?{query}" if query else path


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sop_uid", "accept", "query", "location", "content_type"),
    [
        # RPCL HTJ2K: nginx's byte-range location
        ("1.2.826.0.1.1.1.1", CORNERSTONE, "", "/internal-orthanc-ranges", RPCL),
        # the accept query parameter stands for the header (cornerstone's urlArguments)
        ("1.2.826.0.1.1.1.1", "*/*", "accept=image/jhc", "/internal-orthanc-ranges", RPCL),
        # other syntaxes: the whole frame, Range ignored
        ("1.2.826.0.1.1.1.7", CORNERSTONE, "", "/internal-orthanc-raw", EXPLICIT),
        ("1.2.826.0.1.1.1.8", CORNERSTONE, "", "/internal-orthanc-raw", JPEG_LS),
    ],
)
def test_single_frames_go_where_nginx_serves_ranges_only_for_progressive_htj2k(
    frames_client: Client, sop_uid: str, accept: str, query: str, location: str, content_type: str
) -> None:
    response = frames_client.get(
        frame_url(sop_uid, query),
        HTTP_ACCEPT=accept,
        HTTP_RANGE="bytes=0-65535",
        **bearer(frames_client, "radiologist"),  # type: ignore[arg-type]
    )
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"{location}/instances/{instance(sop_uid)}/frames/0/raw"
    assert response["Content-Type"].endswith(f"; transfer-syntax={content_type}")
    assert response.content == b""


@pytest.mark.django_db
def test_an_accept_that_needs_transcoding_goes_to_orthancs_route(frames_client: Client) -> None:
    response = frames_client.get(
        frame_url("1.2.826.0.1.1.1.1", "accept=image/jls"),
        HTTP_ACCEPT=CORNERSTONE,
        **bearer(frames_client, "radiologist"),  # type: ignore[arg-type]
    )
    assert response["X-Accel-Redirect"] == (
        f"/internal-orthanc{frame_url('1.2.826.0.1.1.1.1').removeprefix('/api/pacs')}"
        "?accept=image/jls"
    )
