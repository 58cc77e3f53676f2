"""Orthanc 1.13 with the codec plugin: every image route, transcoding, export and modification
on HTJ2K instances behave as on the same instance stored uncompressed.

Each image format is stored twice in one Orthanc: uncompressed (the original) and as HTJ2K
Lossless RPCL (another SOP Instance UID). Routes must answer the same bytes for both; decoded
pixels must equal the original's.
"""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydicom.uid import generate_uid

from tests.integration.htj2k_codec.conftest import Codec
from tests.integration.htj2k_codec.images import (
    KIND,
    KINDS,
    Kind,
    dataset_for,
    frames_of,
    pixels_for,
    read,
    to_bytes,
)
from tests.integration.htj2k_codec.support import (
    EXPLICIT_LE,
    HTJ2K_RPCL,
    IMPLICIT_LE,
    RootedOrthanc,
    run_tool,
    storescp,
)

# Formats plain Orthanc 1.13 decodes to their own values (palette: LUT colours; signed 8-bit:
# not at all, "Unsupported DICOM image").
GREY_OR_RGB = [k for k in KINDS if k.photometric != "PALETTE COLOR" and k.name != "signed8"]


@dataclass(frozen=True)
class Pair:
    kind: Kind
    native_id: str
    htj2k_id: str
    study_uid: str
    series_uid: str
    sop_uid: str  # of the HTJ2K instance


@pytest.fixture(scope="module")
def pairs(
    codec: Codec, orthanc13: RootedOrthanc, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Pair]:
    folder = tmp_path_factory.mktemp("pairs")
    stored = {}
    for kind in KINDS:
        native = dataset_for(kind)
        native_id = orthanc13.upload(to_bytes(native))
        native.SOPInstanceUID = native.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        src, out = folder / f"{kind.name}.dcm", folder / f"{kind.name}.htj2k.dcm"
        src.write_bytes(to_bytes(native))
        done = run_tool(codec.tool, "to-htj2k", src, out, HTJ2K_RPCL, EXPLICIT_LE)
        assert done.returncode == 0, done.stderr
        htj2k_id = orthanc13.upload(out.read_bytes())
        assert orthanc13.get(f"/instances/{htj2k_id}/metadata/TransferSyntax").text == HTJ2K_RPCL
        stored[kind.name] = Pair(
            kind,
            native_id,
            htj2k_id,
            native.StudyInstanceUID,
            native.SeriesInstanceUID,
            native.SOPInstanceUID,
        )
    return stored


def image_routes(kind: Kind) -> Iterator[str]:
    for frame in range(kind.frames):
        base = f"frames/{frame}"
        yield from (f"{base}/image-uint8", f"{base}/preview", f"{base}/rendered", f"{base}/matlab")
        yield from (f"{base}/numpy", f"{base}/numpy?rescale=false")
        if kind.samples == 1:
            yield from (f"{base}/image-uint16", f"{base}/image-int16")
    yield from ("preview", "rendered", "numpy", "numpy?rescale=false", "matlab")


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_image_routes_answer_as_for_the_uncompressed_instance(
    orthanc13: RootedOrthanc, pairs: dict[str, Pair], kind: Kind
) -> None:
    """Same status and bytes; a route plain Orthanc refuses for this format (image-uint8 of
    colour: 415; this palette image: "Invalid size"; signed 8-bit) is refused the same way. For
    the formats plain Orthanc decodes, preview, rendered, matlab and numpy always answer."""
    pair = pairs[kind.name]
    for route in image_routes(kind):
        native = orthanc13.get(f"/instances/{pair.native_id}/{route}")
        htj2k = orthanc13.get(f"/instances/{pair.htj2k_id}/{route}")
        assert htj2k.status_code == native.status_code, (route, htj2k.text[:300])
        if native.status_code == 200:
            assert htj2k.content == native.content, route
        else:
            allowed = kind not in GREY_OR_RGB or "image-uint8" in route
            assert allowed or "image-int16" in route, (route, native.text[:300])


@pytest.mark.parametrize("kind", GREY_OR_RGB, ids=lambda k: k.name)
def test_numpy_and_image_uint16_equal_the_original_pixels(
    orthanc13: RootedOrthanc, pairs: dict[str, Pair], kind: Kind
) -> None:
    pair, expected = pairs[kind.name], pixels_for(kind)
    array = np.load(
        io.BytesIO(orthanc13.get(f"/instances/{pair.htj2k_id}/numpy?rescale=false").content)
    )
    assert np.array_equal(array.reshape(expected.shape), expected)
    if kind.samples == 1 and not kind.signed and kind.bits_allocated == 16:
        for frame in range(kind.frames):
            png = orthanc13.get(f"/instances/{pair.htj2k_id}/frames/{frame}/image-uint16")
            assert np.array_equal(np.asarray(Image.open(io.BytesIO(png.content))), expected[frame])


def test_dicomweb_rendered_answers_as_for_the_uncompressed_instance(
    orthanc13: RootedOrthanc, pairs: dict[str, Pair]
) -> None:
    for pair in pairs.values():
        native_sop = orthanc13.get(f"/instances/{pair.native_id}/simplified-tags").json()[
            "SOPInstanceUID"
        ]
        series = f"/dicom-web/studies/{pair.study_uid}/series/{pair.series_uid}"
        native = orthanc13.get(f"{series}/instances/{native_sop}/rendered")
        htj2k = orthanc13.get(f"{series}/instances/{pair.sop_uid}/rendered")
        assert htj2k.status_code == native.status_code, pair.kind.name
        if pair.kind in GREY_OR_RGB:
            assert (htj2k.status_code, htj2k.content) == (200, native.content), pair.kind.name


def same_pixels(data: bytes, kind: Kind, transfer_syntax: str) -> None:
    ds = read(data)
    assert ds.file_meta.TransferSyntaxUID == transfer_syntax
    assert np.array_equal(frames_of(ds), pixels_for(kind))


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
@pytest.mark.parametrize("target", [EXPLICIT_LE, IMPLICIT_LE])
def test_modify_transcodes_pixel_identical(
    orthanc13: RootedOrthanc, pairs: dict[str, Pair], kind: Kind, target: str
) -> None:
    pair = pairs[kind.name]
    answer = orthanc13.post(f"/instances/{pair.htj2k_id}/modify", {"Transcode": target})
    assert answer.status_code == 200, answer.text
    same_pixels(answer.content, kind, target)


@pytest.mark.parametrize(
    "kind", [KIND["grey12-multiframe"], KIND["rgb8"], KIND["signed16"]], ids=lambda k: k.name
)
def test_modify_and_anonymize_keep_pixels(
    orthanc13: RootedOrthanc, pairs: dict[str, Pair], kind: Kind
) -> None:
    pair = pairs[kind.name]
    modified = orthanc13.post(
        f"/instances/{pair.htj2k_id}/modify",
        {"Replace": {"PatientName": "Changed^Name"}, "Force": True},
    )
    assert modified.status_code == 200, modified.text
    same_pixels(modified.content, kind, HTJ2K_RPCL)
    assert read(modified.content).PatientName == "Changed^Name"
    anonymized = orthanc13.post(f"/instances/{pair.htj2k_id}/anonymize", {})
    assert anonymized.status_code == 200, anonymized.text
    same_pixels(anonymized.content, kind, HTJ2K_RPCL)
    # Stored modification (series level): both instances of the new series keep their pixels.
    series = orthanc13.get(f"/instances/{pair.htj2k_id}/series").json()["ID"]
    job = orthanc13.post(f"/series/{series}/anonymize", {})
    assert job.status_code == 200, job.text
    syntaxes = set()
    for instance in orthanc13.get(f"/series/{job.json()['ID']}/instances").json():
        data = orthanc13.get(f"/instances/{instance['ID']}/file").content
        syntaxes.add(str(read(data).file_meta.TransferSyntaxUID))
        same_pixels(data, kind, str(read(data).file_meta.TransferSyntaxUID))
    assert syntaxes == {EXPLICIT_LE, HTJ2K_RPCL}


def multipart_parts(body: bytes, content_type: str) -> list[bytes]:
    boundary = re.search(r"boundary=\"?([^\";]+)", content_type)
    assert boundary is not None
    parts = body.split(b"--" + boundary.group(1).encode())[1:-1]
    return [part.split(b"\r\n\r\n", 1)[1].removesuffix(b"\r\n") for part in parts]


def test_dicomweb_retrieve_with_the_default_accept(
    orthanc13: RootedOrthanc, pairs: dict[str, Pair]
) -> None:
    for pair in pairs.values():
        url = (
            f"/dicom-web/studies/{pair.study_uid}/series/{pair.series_uid}/instances/{pair.sop_uid}"
        )
        answer = orthanc13.get(
            url, headers={"Accept": 'multipart/related; type="application/dicom"'}
        )
        assert answer.status_code == 200, answer.text[:300]
        (part,) = multipart_parts(answer.content, answer.headers["Content-Type"])
        same_pixels(part, pair.kind, EXPLICIT_LE)


def test_media_archive_transcodes(orthanc13: RootedOrthanc, pairs: dict[str, Pair]) -> None:
    pair = pairs["rgb8-multiframe"]
    study = orthanc13.get(f"/instances/{pair.htj2k_id}/study").json()["ID"]
    answer = orthanc13.get(f"/studies/{study}/media?transcode={EXPLICIT_LE}")
    assert answer.status_code == 200
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        files = [archive.read(n) for n in archive.namelist() if not n.endswith("DICOMDIR")]
    assert len(files) == 2  # the uncompressed original and the HTJ2K copy
    for data in files:
        same_pixels(data, pair.kind, EXPLICIT_LE)


@pytest.fixture
def implicit_peer(orthanc13: RootedOrthanc, tmp_path: Path) -> Iterator[Path]:
    """A dcmtk storescp that accepts Implicit VR Little Endian only, registered as "peer"."""
    folder = tmp_path / "peer"
    with storescp(folder, "+xi") as port:
        peer = {"AET": "PEER", "Host": "127.0.0.1", "Port": port}
        assert orthanc13.put("/modalities/peer", peer).ok
        yield folder


def received(folder: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted(folder.iterdir())]


def test_c_store_to_an_implicit_only_peer(
    orthanc13: RootedOrthanc, pairs: dict[str, Pair], implicit_peer: Path
) -> None:
    ids = [pair.htj2k_id for pair in pairs.values()]
    answer = orthanc13.post("/modalities/peer/store", ids)
    assert answer.status_code == 200, answer.text
    assert answer.json()["FailedInstancesCount"] == 0
    by_sop = {read(d).SOPInstanceUID: d for d in received(implicit_peer)}
    for pair in pairs.values():
        same_pixels(by_sop[pair.sop_uid], pair.kind, IMPLICIT_LE)


def test_c_move_and_c_get_to_implicit_only_peers(
    orthanc13: RootedOrthanc, pairs: dict[str, Pair], implicit_peer: Path, tmp_path: Path
) -> None:
    pair = pairs["grey12-multiframe"]
    keys = [
        "-k",
        "QueryRetrieveLevel=IMAGE",
        "-k",
        f"StudyInstanceUID={pair.study_uid}",
        "-k",
        f"SeriesInstanceUID={pair.series_uid}",
        "-k",
        f"SOPInstanceUID={pair.sop_uid}",
    ]
    where = ["-aet", "PEER", "-aec", orthanc13.aet, "127.0.0.1", str(orthanc13.dicom_port)]
    done = subprocess.run(
        ["movescu", "-S", "-aem", "PEER", *where, *keys],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    same_pixels(received(implicit_peer)[0], pair.kind, IMPLICIT_LE)
    get_folder = tmp_path / "get"
    get_folder.mkdir()
    # dcmtk 3.6.7's getscu knows no HTJ2K syntax: Orthanc must transcode for it. (It writes
    # its files in Explicit VR whatever the network used, so only the pixels are compared.)
    done = subprocess.run(
        ["getscu", "-S", "-xi", "+xi", "-od", str(get_folder), *where, *keys],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (data,) = received(get_folder)
    same_pixels(data, pair.kind, str(read(data).file_meta.TransferSyntaxUID))
    assert read(data).file_meta.TransferSyntaxUID in (IMPLICIT_LE, EXPLICIT_LE)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_orthanc_encodes_to_htj2k_through_the_plugin(
    orthanc13: RootedOrthanc, pairs: dict[str, Pair], kind: Kind
) -> None:
    answer = orthanc13.post(
        f"/instances/{pairs[kind.name].native_id}/modify", {"Transcode": HTJ2K_RPCL}
    )
    assert answer.status_code == 200, answer.text
    same_pixels(answer.content, kind, HTJ2K_RPCL)
    assert read(answer.content).private_block(0x0009, "NEURONOVA")[0x10].value == EXPLICIT_LE


def test_metrics_count_decodes_encodes_and_transcodes(
    orthanc13: RootedOrthanc, pairs: dict[str, Pair]
) -> None:
    """Counted once per piece of work (Orthanc 1.13 caches transcoded files: a new instance)."""
    pair = pairs["grey12"]
    fresh = orthanc13.upload(to_bytes(dataset_for(KIND["grey12"])))
    before = orthanc13.metrics()
    assert orthanc13.get(f"/instances/{pair.htj2k_id}/frames/0/image-uint16").ok
    encoded = orthanc13.post(f"/instances/{fresh}/modify", {"Transcode": HTJ2K_RPCL})
    assert encoded.ok
    new_htj2k = orthanc13.upload(encoded.content)
    assert orthanc13.post(f"/instances/{new_htj2k}/modify", {"Transcode": IMPLICIT_LE}).ok
    after = orthanc13.metrics()

    def grew(name: str) -> float:
        return after.get(name, 0) - before.get(name, 0)

    assert grew("neuronova_htj2k_decoded_frames_total") >= 1
    assert grew(f'neuronova_htj2k_encoded_total{{transfer_syntax="{HTJ2K_RPCL}"}}') == 1
    assert grew(f'neuronova_htj2k_transcoded_from_total{{transfer_syntax="{IMPLICIT_LE}"}}') == 1
    assert grew("neuronova_htj2k_encode_seconds_count") == 1


def test_lossy_targets_honour_the_requested_quality(
    orthanc13: RootedOrthanc, pairs: dict[str, Pair]
) -> None:
    """The SDK passes plugins no lossy quality: HTJ2K to JPEG goes to DCMTK (through the
    plugin's DCMTK decoder), which applies LossyQuality as for an uncompressed source."""
    for name in ("rgb8", "grey8"):
        pair = pairs[name]
        sizes = {}
        for instance in (pair.native_id, pair.htj2k_id):
            for quality in (40, 80):
                body = {"Transcode": "1.2.840.10008.1.2.4.50", "LossyQuality": quality}
                answer = orthanc13.post(f"/instances/{instance}/modify", body)
                assert answer.status_code == 200, answer.text
                assert read(answer.content).file_meta.TransferSyntaxUID.endswith(".4.50")
                sizes[instance, quality] = len(answer.content)
        assert sizes[pair.htj2k_id, 40] < sizes[pair.htj2k_id, 80], name
        for quality in (40, 80):  # same pixels in, same JPEG out (give or take the header)
            assert abs(sizes[pair.htj2k_id, quality] - sizes[pair.native_id, quality]) < 600
