"""The read-back check that guards MODIFY: pydicom's raw parser, stricter than dcmread."""

from __future__ import annotations

import io
import struct

import imagecodecs
import numpy as np
import pydicom
import pytest
from neuronova_plugin.policy import HTJ2K_LOSSLESS_RPCL
from neuronova_plugin.readback import ReadBackError, frames_equal, read_back, stored_frames
from neuronova_plugin.transcode import PRIVATE_GROUP, transcode

from tests.support.orthanc import synthetic_mr_series


def _transcoded() -> tuple[bytes, pydicom.Dataset]:
    ds = synthetic_mr_series(1, rows=32, columns=24)[0]
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    result = transcode(buffer.getvalue())
    assert result.data is not None
    return result.data, ds


def test_read_back_agrees_with_dcmread() -> None:
    data, original = _transcoded()
    stored = read_back(data)
    full = pydicom.dcmread(io.BytesIO(data))
    assert stored.transfer_syntax == HTJ2K_LOSSLESS_RPCL == full.file_meta.TransferSyntaxUID
    assert set(stored.elements) == set(full.keys())
    assert {t for t in stored.elements if t.group != PRIVATE_GROUP} == set(original.keys())
    [frame] = stored_frames(stored, 1)
    assert frames_equal([frame], original.pixel_array[np.newaxis])


def test_wrong_meta_group_length_is_refused() -> None:
    data, _ = _transcoded()
    length = struct.unpack_from("<I", data, 140)[0]
    bad = data[:140] + struct.pack("<I", length + 2) + data[144:]
    with pytest.raises(ReadBackError, match="Group Length"):
        read_back(bad)
    pydicom.dcmread(io.BytesIO(bad))  # which dcmread would have accepted


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda d: b"\1" + d[1:], "preamble"),
        (lambda d: d + b"\0" * 3, "left after"),
        (lambda d: d[:100], "preamble"),
    ],
)
def test_odd_files_are_refused(mangle: object, message: str) -> None:
    data, _ = _transcoded()
    with pytest.raises(ReadBackError, match=message):
        read_back(mangle(data))  # type: ignore[operator]


def test_frames_equal_needs_every_value_and_the_shape() -> None:
    image = np.arange(12 * 10, dtype=np.uint16).reshape(1, 12, 10) * 37
    codestream = bytes(imagecodecs.htj2k_encode(image[0], reversible=True))
    assert frames_equal([codestream], image)
    changed = image.copy()
    changed[0, 11, 9] += 1
    assert not frames_equal([codestream], changed)
    assert not frames_equal([codestream], image.reshape(1, 10, 12))
    assert not frames_equal([codestream, codestream], image)
