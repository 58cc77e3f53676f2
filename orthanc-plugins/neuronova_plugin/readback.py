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
from dataclasses import dataclass

import imagecodecs
import numpy as np
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
    tags: frozenset[BaseTag]  # top-level dataset tags (no file meta)
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
    elements, end = {}, fp.tell()
    for element in data_element_generator(fp, False, True):
        elements[element.tag] = element.value
        end = fp.tell()  # the generator has read this element's value (nothing is deferred)
    if end != len(data):  # the generator silently stops at a partial element header
        raise ReadBackError("bytes left after the last element")
    pixel_data = elements.get(BaseTag(PIXEL_DATA))
    if not isinstance(pixel_data, bytes):
        raise ReadBackError("no Pixel Data")
    return StoredFile(
        transfer_syntax=syntax.rstrip(b"\0 ").decode("ascii"),
        tags=frozenset(elements),
        pixel_data=pixel_data,
    )


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
