"""Pure: the fast way to re-encode the common case, by splicing bytes instead of re-writing.

pydicom's writer converts every element and costs more than the HTJ2K encode itself; a modality's
Explicit VR Little Endian grey image only needs a new file meta group, our private block and a new
Pixel Data element. Every other element is copied byte for byte. Anything unusual raises
SpliceError and the caller takes pydicom's path; the result is verified the same way either way.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from pydicom.dataset import FileMetaDataset
from pydicom.encaps import encapsulate

EXPLICIT_LE = "1.2.840.10008.1.2.1"
PIXEL_DATA = (0x7FE0, 0x0010)
GROUP_LENGTH, TRANSFER_SYNTAX = (0x0002, 0x0000), (0x0002, 0x0010)
LONG_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN"} | {b"UR", b"UT", b"UV"}
)
UNDEFINED = 0xFFFFFFFF
ITEM, ITEM_END, SEQUENCE_END = (0xFFFE, 0xE000), (0xFFFE, 0xE00D), (0xFFFE, 0xE0DD)


class SpliceError(ValueError):
    """Not the simple case: use pydicom's writer instead."""


def _tag(buf: bytes, pos: int) -> tuple[int, int]:
    group, element = struct.unpack_from("<HH", buf, pos)
    return group, element


def _element_end(buf: bytes, pos: int) -> int:
    """End offset of the Explicit VR Little Endian element starting at ``pos``."""
    vr = buf[pos + 4 : pos + 6]
    if vr in LONG_VRS:
        length = int(struct.unpack_from("<I", buf, pos + 8)[0])
        start = pos + 12
    else:
        length = int(struct.unpack_from("<H", buf, pos + 6)[0])
        start = pos + 8
    if length != UNDEFINED:
        end = start + length
    elif vr == b"SQ":
        end = _sequence_end(buf, start)
    else:  # encapsulated data or UN sequences (implicit VR inside): not for the fast path
        raise SpliceError(f"undefined length {vr!r} at {pos}")
    if end > len(buf):
        raise SpliceError("element runs past the end")
    return end


def _sequence_end(buf: bytes, pos: int) -> int:
    while True:
        tag = _tag(buf, pos)
        length = int(struct.unpack_from("<I", buf, pos + 4)[0])
        if tag == SEQUENCE_END:
            return pos + 8
        if tag != ITEM:
            raise SpliceError(f"unexpected {tag} in a sequence")
        pos += 8
        if length != UNDEFINED:
            pos += length
            continue
        while _tag(buf, pos) != ITEM_END:
            pos = _element_end(buf, pos)
        pos += 8


def top_level(buf: bytes, start: int) -> list[tuple[tuple[int, int], int, int]]:
    """(tag, start, end) of each element from ``start`` to the end of ``buf``."""
    elements = []
    pos = start
    while pos < len(buf):
        if len(buf) - pos < 8:
            raise SpliceError("trailing bytes")
        end = _element_end(buf, pos)
        elements.append((_tag(buf, pos), pos, end))
        pos = end
    return elements


def _short(group: int, element: int, vr: bytes, value: bytes) -> bytes:
    return struct.pack("<HH2sH", group, element, vr, len(value)) + value


def _pad(text: str, pad: bytes) -> bytes:
    raw = text.encode("ascii")
    return raw + pad if len(raw) % 2 else raw


def private_block(group: int, creator: str, values: Sequence[tuple[int, bytes, str]]) -> bytes:
    """Creator at (gggg,0010) and its elements at (gggg,10xx); values as (xx, VR, text)."""
    block = _short(group, 0x0010, b"LO", _pad(creator, b" "))
    for offset, vr, text in values:
        block += _short(group, 0x1000 | offset, vr, _pad(text, b"\0" if vr == b"UI" else b" "))
    return block


def _file_meta(data: bytes, meta_end: int, transfer_syntax: str) -> bytes:
    """The received meta group with the new Transfer Syntax UID and a recomputed group length."""
    parts, pos, replaced = [], 132, False
    while pos < meta_end:
        end = _element_end(data, pos)
        tag = _tag(data, pos)
        if tag == TRANSFER_SYNTAX:
            parts.append(_short(*TRANSFER_SYNTAX, b"UI", _pad(transfer_syntax, b"\0")))
            replaced = True
        elif tag != GROUP_LENGTH:
            parts.append(data[pos:end])
        pos = end
    if not replaced:
        raise SpliceError("no Transfer Syntax UID in the meta group")
    body = b"".join(parts)
    return struct.pack("<HH2sHI", *GROUP_LENGTH, b"UL", 4, len(body)) + body


def splice(
    data: bytes,
    *,
    meta: FileMetaDataset,
    codestreams: list[bytes],
    transfer_syntax: str,
    private: bytes,
    private_group: int,
) -> bytes:
    """The received file re-encoded: new meta, ``private`` block inserted, new Pixel Data."""
    if str(meta.get("TransferSyntaxUID", "")) != EXPLICIT_LE or data[128:132] != b"DICM":
        raise SpliceError("not an Explicit VR Little Endian file")
    meta_end = 132
    while _tag(data, meta_end)[0] == 0x0002:
        meta_end = _element_end(data, meta_end)
    elements = top_level(data, meta_end)
    if any(tag[0] == private_group for tag, _, _ in elements):
        raise SpliceError("private group already in use")
    pixel = [(s, e) for tag, s, e in elements if tag == PIXEL_DATA]
    if len(pixel) != 1:
        raise SpliceError("no top-level Pixel Data")
    pixel_start, pixel_end = pixel[0]
    insert_at = next((s for tag, s, _ in elements if tag[0] > private_group), pixel_start)
    fragments = encapsulate(codestreams, has_bot=len(codestreams) > 1)
    new_pixel = struct.pack("<HH2sHI", *PIXEL_DATA, b"OB", 0, UNDEFINED) + fragments
    new_pixel += struct.pack("<HHI", *SEQUENCE_END, 0)
    return b"".join(
        (
            b"\0" * 128,
            b"DICM",
            _file_meta(data, meta_end, transfer_syntax),
            data[meta_end:insert_at],
            private,
            data[insert_at:pixel_start],
            new_pixel,
            data[pixel_end:],
        )
    )
