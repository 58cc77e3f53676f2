"""The byte-splicing fast path gives the same instance as pydicom's writer, or steps aside."""

from __future__ import annotations

import io
from unittest import mock

import numpy as np
import pydicom
import pytest
from neuronova_plugin import transcode as transcode_module
from neuronova_plugin.splice import SpliceError, top_level
from neuronova_plugin.transcode import transcode
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from tests.support.orthanc import synthetic_mr_series


def _file(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _mr_with_nested_data() -> Dataset:
    ds = synthetic_mr_series(1, rows=16, columns=16)[0]
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator = "T-A0100", "SRT"
    inner = Dataset()
    inner.CodeMeaning = "Brain"
    item.ConceptCodeSequence = Sequence([inner])
    ds.AnatomicRegionSequence = Sequence([item])
    ds["AnatomicRegionSequence"].is_undefined_length = True
    item.is_undefined_length_sequence_item = True
    ds.DataSetTrailingPadding = b"\0" * 8
    return ds


def _both_paths(data: bytes) -> tuple[bytes, bytes]:
    fast = transcode(data)
    with mock.patch.object(transcode_module, "_spliced", return_value=None):
        slow = transcode(data)
    assert fast.data is not None
    assert slow.data is not None
    return fast.data, slow.data


def test_fast_path_equals_pydicom_writer_element_by_element() -> None:
    data = _file(_mr_with_nested_data())
    fast, slow = _both_paths(data)
    a, b = pydicom.dcmread(io.BytesIO(fast)), pydicom.dcmread(io.BytesIO(slow))
    assert a.file_meta.TransferSyntaxUID == b.file_meta.TransferSyntaxUID
    assert [e.tag for e in a] == [e.tag for e in b]
    for element in a:
        if element.tag != 0x7FE00010:
            assert element.value == b[element.tag].value, element
    assert np.array_equal(a.pixel_array, b.pixel_array)
    assert a.AnatomicRegionSequence[0].ConceptCodeSequence[0].CodeMeaning == "Brain"


def test_fast_path_copies_other_elements_byte_for_byte() -> None:
    data = _file(_mr_with_nested_data())
    fast, _ = _both_paths(data)
    original = pydicom.dcmread(io.BytesIO(data))
    stored = pydicom.dcmread(io.BytesIO(fast))
    assert stored.DataSetTrailingPadding == original.DataSetTrailingPadding
    assert fast.count(b"T-A0100") == 1


def _dataset_start(data: bytes) -> int:
    group_length = int.from_bytes(data[140:144], "little")  # (0002,0000) UL value
    return 132 + 12 + group_length


def test_top_level_walk_finds_every_element() -> None:
    data = _file(_mr_with_nested_data())
    ds = pydicom.dcmread(io.BytesIO(data))
    tags = [
        (group << 16) | element for (group, element), _, _ in top_level(data, _dataset_start(data))
    ]
    assert tags == list(ds.keys())


def test_existing_private_group_takes_the_pydicom_path() -> None:
    ds = synthetic_mr_series(1, rows=16, columns=16)[0]
    ds.private_block(0x0009, "OTHER VENDOR", create=True).add_new(0x01, "LO", "x")
    data = _file(ds)
    with mock.patch.object(transcode_module, "_rewrite", wraps=transcode_module._rewrite) as spy:
        result = transcode(data)
    assert spy.called
    assert result.data is not None
    stored = pydicom.dcmread(io.BytesIO(result.data))
    assert stored.private_block(0x0009, "OTHER VENDOR")[0x01].value == "x"
    assert stored.private_block(0x0009, "NEURONOVA")[0x10].value == "1.2.840.10008.1.2.1"


def test_truncated_walk_raises() -> None:
    data = _file(synthetic_mr_series(1, rows=16, columns=16)[0])
    with pytest.raises(SpliceError):
        top_level(data[: len(data) - 10], _dataset_start(data))
