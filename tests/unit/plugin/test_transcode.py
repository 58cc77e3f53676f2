"""Re-encoding to HTJ2K: every pydicom test file either keeps its bytes or decodes identically."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import imagecodecs
import numpy as np
import pydicom
import pytest
from neuronova_plugin.policy import HTJ2K, HTJ2K_LOSSLESS_RPCL
from neuronova_plugin.transcode import (
    PRIVATE_CREATOR,
    PRIVATE_GROUP,
    transcode,
    zero_preamble,
)
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from tests.support.orthanc import synthetic_mr_series

CORPUS = sorted(
    p
    for p in Path(get_testdata_file("CT_small.dcm") or "").parent.iterdir()
    if p.suffix.lower() == ".dcm"
)
# Each input family the issue names, proven to come out as HTJ2K.
MUST_TRANSCODE = {
    "CT_small.dcm": "signed 16-bit explicit LE",
    "MR_small_implicit.dcm": "implicit VR",
    "MR_small_bigendian.dcm": "explicit big endian",
    "image_dfl.dcm": "deflated",
    "MR_small_RLE.dcm": "RLE",
    "SC_rgb_jpeg_gdcm.dcm": "JPEG lossless SV1, RGB",
    "MR_small_jpeg_ls_lossless.dcm": "JPEG-LS lossless",
    "MR_small_jp2klossless.dcm": "JPEG 2000 lossless",
    "SC_rgb_rle_2frame.dcm": "multi-frame RGB",
    "examples_palette.dcm": "palette colour",
}
MUST_KEEP = {
    "JPEG-lossy.dcm": "lossy-or-unsupported-compression",
    "JPEG2000.dcm": "lossy-or-unsupported-compression",
    "JPEGLSNearLossless_16.dcm": "lossy-or-unsupported-compression",
    "liver_1frame.dcm": "excluded-sop-class",
    "test-SR.dcm": "no-pixel-data",
    "MR_truncated.dcm": "truncated-pixel-data",
    "rtdose.dcm": "excluded-sop-class",
    "SC_rgb_rle_32bit.dcm": "bits-allocated",
}


def _pixels(data: bytes) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(io.BytesIO(data))
        ds.pixel_array_options(as_rgb=False)
        return ds.pixel_array


def _bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def test_corpus_has_the_named_files() -> None:
    names = {p.name for p in CORPUS}
    assert set(MUST_TRANSCODE) <= names
    assert set(MUST_KEEP) <= names


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_every_corpus_file_is_kept_or_identical(path: Path) -> None:
    data = path.read_bytes()
    result = transcode(data)
    if path.name in MUST_KEEP:
        assert result.data is None
        assert result.reason == MUST_KEEP[path.name]
    if result.data is None:
        assert path.name not in MUST_TRANSCODE, result.reason
        return
    stored = pydicom.dcmread(io.BytesIO(result.data))
    assert stored.file_meta.TransferSyntaxUID == HTJ2K_LOSSLESS_RPCL
    assert result.data[:128] == b"\0" * 128
    block = stored.private_block(PRIVATE_GROUP, PRIVATE_CREATOR)
    original = pydicom.dcmread(io.BytesIO(data))
    assert block[0x10].value == original.file_meta.TransferSyntaxUID
    assert block[0x11].value.startswith("neuronova-plugin ")
    # Decoded by pydicom with OpenJPEG (pylibjpeg), not the OpenJPH that encoded it.
    assert np.array_equal(_pixels(result.data), _pixels(data))
    assert stored.SOPInstanceUID == original.SOPInstanceUID
    assert stored.get("NumberOfFrames") == original.get("NumberOfFrames")


def test_generated_mr_series_shrinks_and_stays_identical() -> None:
    for ds in synthetic_mr_series(3, rows=128, columns=128):
        data = _bytes(ds)
        result = transcode(data)
        assert result.data is not None
        assert len(result.data) < 0.6 * len(data)
        assert np.array_equal(_pixels(result.data), ds.pixel_array)


def _mr(bits_stored: int, signed: bool, words: np.ndarray) -> bytes:
    ds = synthetic_mr_series(1, rows=4, columns=4, bits_stored=bits_stored)[0]
    ds.PixelRepresentation = int(signed)
    ds.PixelData = words.astype(np.int16 if signed else np.uint16).tobytes()
    return _bytes(ds)


def test_signed_12_bit_without_sign_extension_is_stored_as_values() -> None:
    words = np.full((4, 4), 0x0FFF, dtype=np.uint16)  # -1 in 12 bits, high bits zero
    result = transcode(_mr(12, True, words.view(np.int16)))
    assert result.data is not None
    assert (_pixels(result.data) == -1).all()


def test_bits_above_high_bit_keep_the_original() -> None:
    words = np.full((4, 4), 0x1000 | 7, dtype=np.uint16)  # an overlay bit above bit 11
    assert transcode(_mr(12, False, words)).reason == "bits-above-high-bit"


def test_verification_failure_keeps_the_original(monkeypatch: pytest.MonkeyPatch) -> None:
    real_decode = imagecodecs.htj2k_decode

    def off_by_one(data: bytes) -> np.ndarray:
        return np.asarray(real_decode(data)) + 1

    monkeypatch.setattr(imagecodecs, "htj2k_decode", off_by_one)
    data = _bytes(synthetic_mr_series(1, rows=16, columns=16)[0])
    result = transcode(data)
    assert result.data is None
    assert result.reason == "verify-mismatch"
    assert transcode(data, verify=False).data is not None


def test_group_lengths_do_not_fail_the_verification() -> None:
    """Retired (gggg,0000) elements change value (or go) when their group is re-written."""
    path = get_testdata_file("ExplVR_BigEnd.dcm")
    assert isinstance(path, str)
    assert any(tag.element == 0 for tag in pydicom.dcmread(path).keys())  # noqa: SIM118
    result = transcode(Path(path).read_bytes())
    assert result.reason == "transcoded"


def _with_sequence(value: str) -> Dataset:
    ds = synthetic_mr_series(1, rows=16, columns=16)[0]
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = "T-A0100", "SRT", value
    ds.AnatomicRegionSequence = [item]
    return ds


@pytest.mark.parametrize("path", ["splice", "pydicom"])
def test_an_element_changed_by_the_writer_fails_the_verification(
    monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """Values are compared, also inside sequences: the writer may not alter any attribute."""
    from neuronova_plugin import splice as splicing  # noqa: PLC0415
    from neuronova_plugin import transcode as module  # noqa: PLC0415

    real_serialise, real_splice = module._serialise, splicing.splice

    def altered_serialise(ds: Dataset) -> bytes:
        ds.AnatomicRegionSequence[0].CodeMeaning = "Changed"
        return real_serialise(ds)

    def altered_splice(data: bytes, **kwargs: object) -> bytes:
        return real_splice(data.replace(b"Brain", b"Brawn"), **kwargs)  # type: ignore[arg-type]

    if path == "splice":
        monkeypatch.setattr(module, "splice", altered_splice)
    else:
        monkeypatch.setattr(module, "_spliced", lambda *_args: None)
        monkeypatch.setattr(module, "_serialise", altered_serialise)
    data = _bytes(_with_sequence("Brain"))
    assert transcode(data).reason == "verify-mismatch"
    monkeypatch.undo()
    assert transcode(data).reason == "transcoded"


@pytest.mark.parametrize(
    "data", [b"", b"\0" * 200, b"\0" * 128 + b"DICM" + b"\xff" * 64, b"garbage" * 50]
)
def test_unreadable_input_is_kept(data: bytes) -> None:
    result = transcode(data)
    assert result.data is None
    assert result.reason.startswith("unreadable")


def test_truncated_header_is_kept() -> None:
    data = _bytes(synthetic_mr_series(1, rows=16, columns=16)[0])
    for cut in (140, 300, len(data) // 2):
        assert transcode(data[:cut]).data is None


def test_htj2k_input_is_kept_as_is() -> None:
    first = transcode(_bytes(synthetic_mr_series(1, rows=16, columns=16)[0]))
    assert first.data is not None
    assert first.transfer_syntax in HTJ2K
    assert transcode(first.data).reason == "already-htj2k"


def test_zero_preamble() -> None:
    data = b"MZ" + b"\x90" * 126 + b"DICM" + b"rest"
    assert zero_preamble(data) == b"\0" * 128 + b"DICMrest"
    assert zero_preamble(b"\0" * 128 + b"DICMrest") is None
    assert zero_preamble(b"no preamble at all") is None
