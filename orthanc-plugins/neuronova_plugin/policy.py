"""Pure: which received instances are re-encoded to HTJ2K lossless, and why others are kept.

The decision needs only header attributes; the transcoder then proves the result lossless.
"""

from __future__ import annotations

from dataclasses import dataclass

# Uncompressed (pydicom presents deflated and big-endian data as plain bytes).
NATIVE = frozenset(
    {
        "1.2.840.10008.1.2",  # Implicit VR Little Endian
        "1.2.840.10008.1.2.1",  # Explicit VR Little Endian
        "1.2.840.10008.1.2.2",  # Explicit VR Big Endian (retired)
        "1.2.840.10008.1.2.1.99",  # Deflated Explicit VR Little Endian
    }
)
# Compressed, but lossless by definition of the transfer syntax.
LOSSLESS_COMPRESSED = frozenset(
    {
        "1.2.840.10008.1.2.5",  # RLE Lossless
        "1.2.840.10008.1.2.4.57",  # JPEG Lossless (Process 14)
        "1.2.840.10008.1.2.4.70",  # JPEG Lossless SV1
        "1.2.840.10008.1.2.4.80",  # JPEG-LS Lossless
        "1.2.840.10008.1.2.4.90",  # JPEG 2000 Lossless Only
    }
)
HTJ2K = frozenset(
    {
        "1.2.840.10008.1.2.4.201",  # HTJ2K Lossless
        "1.2.840.10008.1.2.4.202",  # HTJ2K Lossless RPCL
        "1.2.840.10008.1.2.4.203",  # HTJ2K (possibly lossy)
    }
)
HTJ2K_LOSSLESS = "1.2.840.10008.1.2.4.201"
HTJ2K_LOSSLESS_RPCL = "1.2.840.10008.1.2.4.202"

# Objects whose pixel data is not an image to re-encode, whatever their transfer syntax.
EXCLUDED_SOP_CLASSES = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.66.4",  # Segmentation
        "1.2.840.10008.5.1.4.1.1.66.7",  # Label Map Segmentation
        "1.2.840.10008.5.1.4.1.1.30",  # Parametric Map
        "1.2.840.10008.5.1.4.1.1.104.1",  # Encapsulated PDF
        "1.2.840.10008.5.1.4.1.1.481.2",  # RT Dose
    }
)
GREY = frozenset({"MONOCHROME1", "MONOCHROME2", "PALETTE COLOR"})


@dataclass(frozen=True, slots=True)
class ImageHeader:
    """The attributes the policy reads (absent ones as None)."""

    transfer_syntax: str
    sop_class_uid: str | None
    has_pixel_data: bool
    photometric: str | None
    samples_per_pixel: int | None
    bits_allocated: int | None
    bits_stored: int | None
    pixel_representation: int | None
    has_icon_image: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    transcode: bool
    reason: str  # "eligible" or why the instance is kept as received


def _keep(reason: str) -> Decision:
    return Decision(transcode=False, reason=reason)


def _transfer_syntax_reason(transfer_syntax: str) -> str | None:
    if transfer_syntax in HTJ2K:
        return "already-htj2k"
    if transfer_syntax in NATIVE or transfer_syntax in LOSSLESS_COMPRESSED:
        return None
    if transfer_syntax.startswith("1.2.840.10008.1.2.4."):
        return "lossy-or-unsupported-compression"  # JPEG baseline, J2K (.91), MPEG, JPIP...
    return "unknown-transfer-syntax"


def _pixel_reason(header: ImageHeader, colour: bool) -> str | None:
    bits_allocated, bits_stored = header.bits_allocated, header.bits_stored
    if bits_allocated not in (8, 16) or bits_stored is None:
        return "bits-allocated"
    if not 1 <= bits_stored <= bits_allocated:
        return "bits-stored"
    if header.pixel_representation not in (0, 1):
        return "pixel-representation"
    if header.samples_per_pixel == 1 and header.photometric in GREY:
        return None
    if header.samples_per_pixel == 3 and header.photometric == "RGB" and bits_allocated == 8:
        return None if colour else "colour-disabled"
    return "photometric-interpretation"


def decide(header: ImageHeader, *, transcode: bool, colour: bool) -> Decision:
    """Re-encode uncompressed and lossless images of 1-16 bit grey or 8-bit RGB; keep the rest."""
    if not transcode:
        return _keep("transcode-disabled")
    if not header.has_pixel_data:
        return _keep("no-pixel-data")
    if header.sop_class_uid in EXCLUDED_SOP_CLASSES:
        return _keep("excluded-sop-class")
    reason = _transfer_syntax_reason(header.transfer_syntax)
    if reason is None:
        reason = _pixel_reason(header, colour)
    if reason is None and header.has_icon_image:
        # An icon's pixel data is encoded in the dataset's transfer syntax: changing it would
        # mislabel the icon, so such instances are kept.
        reason = "icon-image"
    return _keep(reason) if reason else Decision(transcode=True, reason="eligible")


def label_for(*, progression: str, tlm: bool) -> str:
    """The HTJ2K lossless transfer syntax a reversible codestream may honestly claim."""
    return HTJ2K_LOSSLESS_RPCL if progression == "RPCL" and tlm else HTJ2K_LOSSLESS
