"""Encoding on ingest: Orthanc 1.13's IngestTranscoding (HTJ2K Lossless RPCL) through the codec
plugin, fed by dcmtk's storescu as a modality. For what reaches the codec, the project's policy
holds: lossless sources are encoded and verified, their original transfer syntax recorded; lossy
images, SEG and objects without pixel data are stored exactly as received. But Orthanc refuses
some instances before any transcoder sees them, which is why the stack does not encode this way
(docs/plugin.md, "Encoding on ingest").
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
import requests
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    UID,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
    RLELossless,
    generate_uid,
)

from tests.integration.htj2k_codec.conftest import Codec
from tests.integration.htj2k_codec.images import (
    KIND,
    dataset_for,
    frames_of,
    pixels_for,
    read,
    to_bytes,
)
from tests.integration.htj2k_codec.support import (
    EXPLICIT_LE,
    HTJ2K_RPCL,
    RootedOrthanc,
    rooted_orthanc,
)
from tests.support.orthanc import synthetic_mr_series
from tests.support.segmentations import binary_seg

SEGMENTATION = UID("1.2.840.10008.5.1.4.1.1.66.4")
BASIC_TEXT_SR = UID("1.2.840.10008.5.1.4.1.1.88.11")


@pytest.fixture(scope="module")
def ingesting(codec: Codec, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RootedOrthanc]:
    workdir = tmp_path_factory.mktemp("ingest")
    overrides = {"IngestTranscoding": HTJ2K_RPCL}
    with rooted_orthanc(codec.plugin, workdir, overrides=overrides) as running:
        yield running
    assert "Segmentation fault" not in running.log_text()


def c_store(orthanc: RootedOrthanc, path: Path, *options: str) -> None:
    done = subprocess.run(
        ["storescu", *options, "-aec", orthanc.aet, "127.0.0.1", str(orthanc.dicom_port), path],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def stored(orthanc: RootedOrthanc, ds: Dataset) -> bytes:
    found = requests.post(f"{orthanc.url}/tools/lookup", data=ds.SOPInstanceUID, timeout=30).json()
    (instance,) = [f["ID"] for f in found if f["Type"] == "Instance"]
    return orthanc.get(f"/instances/{instance}/file").content


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", ["grey12", "signed16", "rgb8-planar", "grey12-multiframe"])
def test_lossless_sources_are_stored_as_verified_htj2k(
    ingesting: RootedOrthanc, tmp_path: Path, name: str
) -> None:
    ds = dataset_for(KIND[name])
    data = bytearray(to_bytes(ds))
    data[:128] = b"MZ" + b"\x90" * 126  # an executable-looking preamble
    c_store(ingesting, write(tmp_path, "in.dcm", bytes(data)))
    result = stored(ingesting, ds)
    back = read(result)
    assert back.file_meta.TransferSyntaxUID == HTJ2K_RPCL
    assert np.array_equal(frames_of(back), pixels_for(KIND[name]))
    assert back.private_block(0x0009, "NEURONOVA")[0x10].value == EXPLICIT_LE
    assert result[:128] == bytes(128)
    # What Orthanc stored (its re-serialisation of the plugin's file) keeps every attribute.
    changed = {"PixelData", "PhotometricInterpretation", "PlanarConfiguration"}
    for element in ds:
        if element.keyword not in changed:
            assert back[element.tag] == element, element.keyword


def test_implicit_and_rle_sources_record_their_syntax(
    ingesting: RootedOrthanc, tmp_path: Path
) -> None:
    implicit = dataset_for(KIND["grey12"])
    implicit.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    c_store(ingesting, write(tmp_path, "implicit.dcm", to_bytes(implicit)), "-xi")
    rle = dataset_for(KIND["grey12-multiframe"])
    rle.compress(RLELossless)
    c_store(ingesting, write(tmp_path, "rle.dcm", to_bytes(rle)), "-R", "-xr")
    for ds, kind, syntax in (
        (implicit, "grey12", ImplicitVRLittleEndian),
        (rle, "grey12-multiframe", RLELossless),
    ):
        back = read(stored(ingesting, ds))
        assert back.file_meta.TransferSyntaxUID == HTJ2K_RPCL
        assert np.array_equal(frames_of(back), pixels_for(KIND[kind]))
        assert back.private_block(0x0009, "NEURONOVA")[0x10].value == syntax


def test_lossy_seg_and_pixel_free_objects_are_kept_as_received(
    ingesting: RootedOrthanc, tmp_path: Path
) -> None:
    lossy = dataset_for(KIND["grey8"])
    lossy.PixelData = encapsulate([bytes(imagecodecs.jpeg8_encode(pixels_for(KIND["grey8"])[0]))])
    lossy.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    lossy.LossyImageCompression = "01"
    seg = dataset_for(KIND["grey8"])
    seg.SOPClassUID = seg.file_meta.MediaStorageSOPClassUID = SEGMENTATION
    report = dataset_for(KIND["grey8"])
    report.SOPClassUID = report.file_meta.MediaStorageSOPClassUID = BASIC_TEXT_SR
    del report.PixelData
    before = ingesting.metrics()
    for ds, name, options in (
        (lossy, "lossy.dcm", ["-R", "-xy"]),
        (seg, "seg.dcm", ["-R"]),
        (report, "sr.dcm", ["-R"]),
    ):
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        sent = to_bytes(ds)
        c_store(ingesting, write(tmp_path, name, sent), *options)
        kept = stored(ingesting, ds)
        assert read(kept).file_meta.TransferSyntaxUID == ds.file_meta.TransferSyntaxUID, name
        assert "NEURONOVA" not in str(read(kept).get((0x0009, 0x0010), "")), name
    after = ingesting.metrics()
    for reason in ("lossy-or-unsupported-compression", "excluded-sop-class"):
        name = f'neuronova_htj2k_kept_total{{reason="{reason}"}}'
        assert after[name] - before.get(name, 0) == 1


def is_stored(orthanc: RootedOrthanc, sop_instance_uid: str) -> bool:
    found = requests.post(f"{orthanc.url}/tools/lookup", data=sop_instance_uid, timeout=30).json()
    return any(f["Type"] == "Instance" for f in found)


def test_ingest_transcoding_refuses_instances_orthanc_stores_without_it(
    ingesting: RootedOrthanc, orthanc13: RootedOrthanc, tmp_path: Path
) -> None:
    """Before it calls any transcoder, Orthanc 1.13 reads the pixel module of every instance it
    may transcode (ServerContext::TranscodeAndStore builds a DicomImageInformation) and lets a
    failure there refuse the store. Refused: a valid BINARY SEG whose Columns are not a multiple
    of 8 (the inference service writes SEGs on the source grid) and an RT Dose whose Number of
    Frames is malformed (pydicom's badVR.dcm) - both stored by the same Orthanc without the option.
    This is the stack's reason to encode in the received-instance callback instead; should this
    test fail, a newer Orthanc stores them and the decision is worth re-examining."""
    seg = binary_seg(synthetic_mr_series(2, rows=250, columns=250))
    bad_vr = Path(get_testdata_file("badVR.dcm") or "").read_bytes()
    for name, data in (("seg", to_bytes(seg)), ("badVR", bad_vr)):
        refused = requests.post(f"{ingesting.url}/instances", data=data, timeout=60)
        assert refused.status_code in (400, 500), (name, refused.text)
        assert orthanc13.upload(data), name
    by_dimse = binary_seg(synthetic_mr_series(2, rows=250, columns=250))
    path = write(tmp_path, "seg.dcm", to_bytes(by_dimse))
    done = subprocess.run(
        ["storescu", "-R", "-aec", ingesting.aet, "127.0.0.1", str(ingesting.dicom_port), path],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0  # the C-STORE answered a failure status
    assert not is_stored(ingesting, by_dimse.SOPInstanceUID)
    assert "Bad number of columns for a black-and-white image" in ingesting.log_text()
    c_store(orthanc13, path, "-R")
    assert is_stored(orthanc13, by_dimse.SOPInstanceUID)
