"""Pure: read back the bytes Orthanc will store, with pydicom's raw element parser, and compare.

The verification must not trust the code that wrote the file (``splice.py`` or pydicom's
writer), so the new file is parsed again by pydicom — but with its raw element generator rather
than ``dcmread``: the same parsing of tags, VRs, lengths, sequences and encapsulated Pixel Data,
without building a Dataset or converting values nobody compares (a third of the read-back cost).
It checks more than ``dcmread`` does: the preamble is zero, the File Meta Information Group
Length matches the group actually written, and no byte is left after the last element.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Set
from dataclasses import dataclass

import imagecodecs
import numpy as np
from pydicom.dataset import Dataset
from pydicom.encaps import generate_frames
from pydicom.filereader import data_element_generator
from pydicom.tag import BaseTag

from neuronova_plugin.pixels import Frames

PREAMBLE_LENGTH = 128
META_START = PREAMBLE_LENGTH + 4  # after b"DICM"
GROUP_LENGTH, TRANSFER_SYNTAX = 0x00020000, 0x00020010
PIXEL_DATA = 0x7FE00010


class ReadBackError(ValueError):
    """The new file is not what it must be: the received bytes are stored instead."""


@dataclass(frozen=True, slots=True)
class StoredFile:
    transfer_syntax: str
    elements: Mapping[BaseTag, object]  # top-level dataset elements (no file meta), raw values
    pixel_data: bytes  # the encapsulated Pixel Data value (items and fragments)


def _not_meta(tag: BaseTag, _vr: str | None, _length: int) -> bool:
    return tag >> 16 != 2


def read_back(data: bytes) -> StoredFile:
    """Parse a Part 10 file written in Explicit VR Little Endian; raise ReadBackError if odd."""
    if len(data) < META_START or any(data[:PREAMBLE_LENGTH]) or data[128:132] != b"DICM":
        raise ReadBackError("no zero preamble and DICM prefix")
    fp = io.BytesIO(data)
    fp.seek(META_START)
    meta = {e.tag: e.value for e in data_element_generator(fp, False, True, _not_meta)}
    meta_end = fp.tell()
    length = meta.get(BaseTag(GROUP_LENGTH))
    if not isinstance(length, bytes) or len(length) != 4:
        raise ReadBackError("no File Meta Information Group Length")
    if int.from_bytes(length, "little") != meta_end - (META_START + 12):
        raise ReadBackError("File Meta Information Group Length does not match the group")
    syntax = meta.get(BaseTag(TRANSFER_SYNTAX))
    if not isinstance(syntax, bytes):
        raise ReadBackError("no Transfer Syntax UID")
    elements, end = _elements(fp)
    if end != len(data):  # the generator silently stops at a partial element header
        raise ReadBackError("bytes left after the last element")
    pixel_data = elements.get(BaseTag(PIXEL_DATA))
    if not isinstance(pixel_data, bytes):
        raise ReadBackError("no Pixel Data")
    return StoredFile(
        transfer_syntax=syntax.rstrip(b"\0 ").decode("ascii"),
        elements=elements,
        pixel_data=pixel_data,
    )


def _elements(fp: io.BytesIO) -> tuple[dict[BaseTag, object], int]:
    """Top-level elements from ``fp``'s position: raw bytes, or a Sequence when undefined length."""
    elements, end = {}, fp.tell()
    for element in data_element_generator(fp, False, True):
        elements[element.tag] = element.value
        end = fp.tell()  # the generator has read this element's value (nothing is deferred)
    return elements, end


def explicit_le_elements(data: bytes) -> dict[BaseTag, object]:
    """The top-level dataset elements of a Part 10 file in Explicit VR Little Endian, raw."""
    fp = io.BytesIO(data)
    fp.seek(META_START)
    for _ in data_element_generator(fp, False, True, _not_meta):
        pass
    return _elements(fp)[0]


def same_elements(
    received: Mapping[BaseTag, object], stored: Mapping[BaseTag, object], changed: Set[BaseTag]
) -> bool:
    """Byte for byte the same elements, but ``changed`` ones and group lengths (gggg,0000)."""
    tags = {t for t in (*received, *stored) if t.element != 0 and t not in changed}
    return all(t in received and t in stored and received[t] == stored[t] for t in tags)


# Re-encoding changes these on purpose; Pixel Data is compared frame by frame instead.
CHANGED_ON_REENCODE = frozenset(
    BaseTag(tag)
    for tag in (
        PIXEL_DATA,
        0x7FE00001,  # Extended Offset Table (removed)
        0x7FE00002,  # Extended Offset Table Lengths (removed)
        0x00280006,  # Planar Configuration (0 for colour)
    )
)
PHOTOMETRIC = BaseTag(0x00280004)


def same_attributes(original: Dataset, stored: Dataset, private_group: int, creator: str) -> bool:
    """Every element of ``stored`` equals the received one (values, sequences item by item).

    Exempt: what re-encoding changes on purpose (``CHANGED_ON_REENCODE``, RGB becoming
    ``YBR_RCT``, our own private block) and group lengths (gggg,0000), which are retired and
    whose values change whenever an element of their group is re-written.
    """
    ours = _private_block_tags(stored, private_group, creator)
    ignored = CHANGED_ON_REENCODE | ours
    if original.get(PHOTOMETRIC) is not None and stored.get(PHOTOMETRIC) is not None:
        before, after = original[PHOTOMETRIC].value, stored[PHOTOMETRIC].value
        if (before, after) == ("RGB", "YBR_RCT"):
            ignored |= {PHOTOMETRIC}
    return _same_items(original, stored, ignored)


def _private_block_tags(ds: Dataset, group: int, creator: str) -> frozenset[BaseTag]:
    try:
        block = ds.private_block(group, creator)
    except KeyError:
        return frozenset()
    start = block.block_start  # elements (gggg,xx00-xxFF); the creator is (gggg,00xx)
    return frozenset(
        tag
        for tag in ds.keys()  # noqa: SIM118 - a Dataset's keys are its tags
        if tag.group == group and (tag.element == start >> 8 or start <= tag.element < start + 256)
    )


def _same_items(original: Dataset, stored: Dataset, ignored: frozenset[BaseTag]) -> bool:
    tags = {t for t in (*original.keys(), *stored.keys()) if t.element != 0 and t not in ignored}
    for tag in tags:
        if tag not in original or tag not in stored:
            return False
        a, b = original[tag], stored[tag]
        if a.VR == "SQ" or b.VR == "SQ":
            if a.VR != b.VR or len(a.value) != len(b.value):
                return False
            if not all(
                _same_items(x, y, frozenset()) for x, y in zip(a.value, b.value, strict=True)
            ):
                return False
        elif a.value != b.value:
            return False
    return True


def frames_equal(codestreams: list[bytes], originals: Frames) -> bool:
    """Decode every codestream once; True only if each equals its original frame exactly."""
    if len(codestreams) != len(originals):
        return False
    for codestream, original in zip(codestreams, originals, strict=True):
        decoded = np.asarray(imagecodecs.htj2k_decode(codestream))
        if decoded.shape != original.shape or not np.array_equal(decoded, original):
            return False
    return True


def stored_frames(stored: StoredFile, number_of_frames: int) -> list[bytes]:
    """The codestreams of the encapsulated Pixel Data, one per frame, as pydicom splits them."""
    return list(generate_frames(stored.pixel_data, number_of_frames=number_of_frames))
