"""Pure: re-encode one DICOM instance to HTJ2K lossless, proven equal to the original pixels.

``transcode(data)`` returns new file bytes, or ``None`` with the reason the instance must be
stored exactly as received. Nothing here raises for a bad input: every failure is a reason.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import imagecodecs
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

from neuronova_plugin.codestream import CodestreamInfo, read_main_header
from neuronova_plugin.pixels import BIG_ENDIAN, Frames, PixelError, original_frames
from neuronova_plugin.policy import HTJ2K_LOSSLESS, ImageHeader, decide, label_for
from neuronova_plugin.readback import (
    CHANGED_ON_REENCODE,
    ReadBackError,
    explicit_le_elements,
    frames_equal,
    read_back,
    same_attributes,
    same_elements,
    stored_frames,
)
from neuronova_plugin.splice import SpliceError, private_block, splice

PREAMBLE_LENGTH = 128
PRIVATE_GROUP = 0x0009
PRIVATE_CREATOR = "NEURONOVA"
ORIGINAL_TS_ELEMENT = 0x10  # (0009,xx10) UI: transfer syntax the instance arrived in
VERSION_ELEMENT = 0x11  # (0009,xx11) LO: plugin version that re-encoded it
PIXEL_DATA = 0x7FE00010
BYTE_ORDER_SENSITIVE = frozenset({"OW", "OF", "OD", "OL", "OV", "UN", "ox", "xs"})
REMOVED_ON_REENCODE = ("ExtendedOffsetTable", "ExtendedOffsetTableLengths")


@dataclass(frozen=True, slots=True)
class TranscodeResult:
    data: bytes | None  # None: store the received bytes unchanged
    reason: str  # "transcoded" or why it was kept
    original_transfer_syntax: str = ""
    transfer_syntax: str = ""
    frames: int = 0


def _kept(reason: str, original: str = "") -> TranscodeResult:
    return TranscodeResult(None, reason, original, original)


def header_of(ds: Dataset, transfer_syntax: str) -> ImageHeader:
    def number(keyword: str) -> int | None:
        value = ds.get(keyword)
        return int(value) if value is not None and value != "" else None

    return ImageHeader(
        transfer_syntax=transfer_syntax,
        sop_class_uid=str(ds.get("SOPClassUID", "")) or None,
        has_pixel_data="PixelData" in ds,
        photometric=str(ds.get("PhotometricInterpretation", "")).strip() or None,
        samples_per_pixel=number("SamplesPerPixel"),
        bits_allocated=number("BitsAllocated"),
        bits_stored=number("BitsStored"),
        pixel_representation=number("PixelRepresentation"),
        has_icon_image="IconImageSequence" in ds,
    )


def encode_frame(frame: Frames) -> tuple[bytes, CodestreamInfo]:
    """HTJ2K reversible (lossless) with TLM markers; OpenJPH writes RPCL by default."""
    codestream = bytes(imagecodecs.htj2k_encode(frame, reversible=True, tlm=True))
    info = read_main_header(codestream)
    if not info.reversible:
        raise PixelError("encoder-not-reversible")
    return codestream, info


def _to_little_endian(ds: Dataset) -> None:
    """Let pydicom write a dataset read as Explicit VR Big Endian in little-endian order.

    Reading every element turns numbers into values that pydicom writes in the new byte order;
    other binary values (OW/OF/UN...) would keep big-endian bytes, so such instances are kept.
    """
    charset = ds.original_character_set
    for elem in ds.iterall():
        if elem.tag != PIXEL_DATA and elem.VR in BYTE_ORDER_SENSITIVE:
            raise PixelError("big-endian-binary-attribute", elem.keyword or str(elem.tag))
        if elem.VR == "SQ":
            for item in elem.value:
                item.set_original_encoding(False, True, charset)
    ds.set_original_encoding(False, True, charset)


def _label(infos: list[CodestreamInfo]) -> str:
    labels = {label_for(progression=i.progression, tlm=i.tlm) for i in infos}
    return labels.pop() if len(labels) == 1 else HTJ2K_LOSSLESS


def _rewrite(
    ds: Dataset, codestreams: list[bytes], infos: list[CodestreamInfo], transfer_syntax: str
) -> None:
    """Put the codestreams into ``ds`` with matching pixel-module attributes (pydicom path)."""
    original = str(ds.file_meta.TransferSyntaxUID)
    ds.file_meta.TransferSyntaxUID = UID(transfer_syntax)
    ds.PixelData = encapsulate(codestreams, has_bot=len(codestreams) > 1)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    if int(ds.SamplesPerPixel) > 1:
        ds.PhotometricInterpretation = "YBR_RCT" if infos[0].mct else "RGB"
        ds.PlanarConfiguration = 0
    for keyword in REMOVED_ON_REENCODE:
        if keyword in ds:
            delattr(ds, keyword)
    block = ds.private_block(PRIVATE_GROUP, PRIVATE_CREATOR, create=True)
    block.add_new(ORIGINAL_TS_ELEMENT, "UI", original)
    block.add_new(VERSION_ELEMENT, "LO", _version())
    ds.preamble = b"\0" * PREAMBLE_LENGTH


def _spliced(
    data: bytes, ds: Dataset, codestreams: list[bytes], transfer_syntax: str
) -> bytes | None:
    """The fast byte-splicing path for single-sample images, or None to use pydicom's writer."""
    if int(ds.SamplesPerPixel) != 1:
        return None
    original = str(ds.file_meta.TransferSyntaxUID)
    private = private_block(
        PRIVATE_GROUP,
        PRIVATE_CREATOR,
        [(ORIGINAL_TS_ELEMENT, b"UI", original), (VERSION_ELEMENT, b"LO", _version())],
    )
    try:
        return splice(
            data,
            meta=ds.file_meta,
            codestreams=codestreams,
            transfer_syntax=transfer_syntax,
            private=private,
            private_group=PRIVATE_GROUP,
        )
    except (SpliceError, struct.error, IndexError):
        return None


def _version() -> str:
    from neuronova_plugin import __version__  # noqa: PLC0415 - avoid an import cycle

    return f"neuronova-plugin {__version__}"


def _serialise(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _stored_faithful(
    data: bytes, originals: Frames, transfer_syntax: str, received: bytes | Dataset
) -> bool:
    """Read back the bytes Orthanc will store: same attributes, every frame equal.

    ``received``: the received file when it was spliced (Explicit VR LE: every element must be
    the same bytes), else the received Dataset (values compared after pydicom's conversion).
    """
    try:
        stored = read_back(data)
        if isinstance(received, bytes):
            ours = {tag for tag in stored.elements if tag.group == PRIVATE_GROUP}
            same = same_elements(
                explicit_le_elements(received), stored.elements, CHANGED_ON_REENCODE | ours
            )
        else:
            stored_ds = dcmread(io.BytesIO(data))
            same = same_attributes(received, stored_ds, PRIVATE_GROUP, PRIVATE_CREATOR)
    except (ReadBackError, InvalidDicomError, ValueError, EOFError, KeyError):
        return False
    if stored.transfer_syntax != transfer_syntax or not same:
        return False
    return frames_equal(stored_frames(stored, len(originals)), originals)


def transcode(data: bytes, *, verify: bool = True, colour: bool = True) -> TranscodeResult:
    try:
        ds = dcmread(io.BytesIO(data))
        original = str(ds.file_meta.TransferSyntaxUID)
    except (InvalidDicomError, AttributeError, ValueError, EOFError, KeyError) as exc:
        return _kept(f"unreadable:{type(exc).__name__}")
    decision = decide(header_of(ds, original), transcode=True, colour=colour)
    if not decision.transcode:
        return _kept(decision.reason, original)
    try:
        originals = original_frames(ds, original)
        if original == BIG_ENDIAN:
            _to_little_endian(ds)
        encoded = [encode_frame(frame) for frame in originals]
    except PixelError as exc:
        return _kept(exc.reason, original)
    codestreams, infos = [c for c, _ in encoded], [i for _, i in encoded]
    transfer_syntax = _label(infos)
    received: bytes | Dataset = data
    result = _spliced(data, ds, codestreams, transfer_syntax)
    if result is None:
        received = dcmread(io.BytesIO(data))  # _rewrite changes ``ds`` in place
        _rewrite(ds, codestreams, infos, transfer_syntax)
        result = _serialise(ds)
    if verify and not _stored_faithful(result, originals, transfer_syntax, received):
        return _kept("verify-mismatch", original)
    return TranscodeResult(result, "transcoded", original, transfer_syntax, len(codestreams))


def zero_preamble(data: bytes) -> bytes | None:
    """The same file with its 128-byte preamble zeroed, or None if already zero / no preamble."""
    if data[PREAMBLE_LENGTH : PREAMBLE_LENGTH + 4] != b"DICM":
        return None
    if not any(data[:PREAMBLE_LENGTH]):
        return None
    return b"\0" * PREAMBLE_LENGTH + data[PREAMBLE_LENGTH:]
