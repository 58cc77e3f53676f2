"""Rendering and legacy decoding (pure): windows, MONOCHROME1, sizes, frames, errors."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from neuronova_plugin import decode, render
from neuronova_plugin.transcode import transcode
from PIL import Image

from tests.support.orthanc import synthetic_mr_series

pytestmark = pytest.mark.unit


def test_preview_stretches_and_inverts_monochrome1() -> None:
    pixels = np.array([[10, 20], [30, 50]], dtype=np.uint16)
    assert render.preview(pixels, "MONOCHROME2").tolist() == [[0, 64], [128, 255]]
    assert render.preview(pixels, "MONOCHROME1").tolist() == [[255, 191], [127, 0]]
    assert render.preview(np.full((2, 2), 7, np.int16), "MONOCHROME2").max() == 0


def test_window_from_query_then_tags() -> None:
    tags = {"WindowCenter": [40, 400], "WindowWidth": [80, 2000]}
    assert render.window_of({}, tags) == render.Window(40, 80)
    query = {"window-center": "100", "window-width": "10"}
    assert render.window_of(query, tags) == render.Window(100, 10)
    assert render.window_of({"window-width": "0", "window-center": "1"}, {}) is None


def test_rendered_applies_rescale_before_window() -> None:
    pixels = np.array([[0, 1000]], dtype=np.uint16)
    tags = {"RescaleSlope": 1, "RescaleIntercept": -1000, "WindowCenter": -500, "WindowWidth": 1000}
    assert render.rendered(pixels, "MONOCHROME2", tags, {}).tolist() == [[0, 255]]


def test_encode_png_jpeg_and_bounds() -> None:
    image = np.zeros((40, 20), dtype=np.uint8)
    body, mime = render.encode(image, accept="image/png", query={"height": "20"})
    assert mime == "image/png"
    assert Image.open(io.BytesIO(body)).size == (10, 20)
    body, mime = render.encode(image, accept="image/jpeg", query={})
    assert (mime, body[:2]) == ("image/jpeg", b"\xff\xd8")


def _htj2k(ds: pydicom.Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    result = transcode(buffer.getvalue())
    assert result.data is not None
    return result.data


def test_decode_frame_and_legacy_outputs_match_the_original() -> None:
    ds = synthetic_mr_series(1, rows=24, columns=16)[0]
    stored = decode.read(_htj2k(ds))
    assert np.array_equal(decode.decode_frame(stored, 0), ds.pixel_array)
    assert decode.frame_little_endian(stored, 0) == ds.PixelData
    with pytest.raises(decode.DecodeError):
        decode.decode_frame(stored, 1)
    legacy = pydicom.dcmread(io.BytesIO(decode.to_explicit_little_endian(stored)))
    assert legacy.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert legacy.SOPInstanceUID == ds.SOPInstanceUID
    assert np.array_equal(legacy.pixel_array, ds.pixel_array)
