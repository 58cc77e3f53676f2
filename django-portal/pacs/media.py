"""Pure: which media type a WADO-RS frame answer carries, and whether the client takes it as stored.

PS3.18 names one media type per compressed transfer syntax (Table 8.7.3-5): HTJ2K is
``image/jphc`` (cornerstone's examples write ``image/jhc``), JPEG 2000 ``image/jp2``, JPEG-LS
``image/jls``…; native pixels are ``application/octet-stream``. A client asks with media ranges,
in the Accept header or in the ``accept`` query parameter (PS3.18 8.3.3.1, which then wins: it
is how a client that cannot set headers, or cornerstone's ``urlArguments``, asks), alone for a
single-part answer or as the ``type`` of ``multipart/related``. ``transfer-syntax=*`` takes any
syntax; no ``transfer-syntax`` means the media type's default (Explicit VR Little Endian for
octets). The portal answers frames as Orthanc stored them whenever the client takes that; any
other wish is Orthanc's to transcode or refuse (``negotiate`` returns None).
"""

from __future__ import annotations

from dataclasses import dataclass

EXPLICIT_LE = "1.2.840.10008.1.2.1"
HTJ2K_LOSSLESS = "1.2.840.10008.1.2.4.201"
HTJ2K_RPCL = "1.2.840.10008.1.2.4.202"
HTJ2K = "1.2.840.10008.1.2.4.203"
OCTETS = "application/octet-stream"
JPHC = "image/jphc"
ALIASES = {"image/jhc": JPHC, "image/x-jls": "image/jls", "image/x-dicom-rle": "image/dicom-rle"}

# (media type, default transfer syntax, the syntaxes it carries), after Table 8.7.3-5.
_TS = "1.2.840.10008.1.2."
_FAMILIES: tuple[tuple[str, str, frozenset[str]], ...] = (
    (JPHC, HTJ2K_LOSSLESS, frozenset({HTJ2K_LOSSLESS, HTJ2K_RPCL, HTJ2K})),
    ("image/jp2", _TS + "4.90", frozenset({_TS + "4.90", _TS + "4.91"})),
    ("image/jpx", _TS + "4.92", frozenset({_TS + "4.92", _TS + "4.93"})),
    ("image/jls", _TS + "4.80", frozenset({_TS + "4.80", _TS + "4.81"})),
    ("image/jpeg", _TS + "4.70", frozenset(_TS + f"4.{n}" for n in (50, 51, 57, 70))),
    ("image/dicom-rle", _TS + "5", frozenset({_TS + "5"})),
    ("image/jxl", _TS + "4.110", frozenset(_TS + f"4.{n}" for n in (110, 111, 112))),
)
# A stored codestream that also meets a wider syntax's constraints: an RPCL lossless HTJ2K
# stream is a valid "HTJ2K lossless" (.201) and "HTJ2K" (.203) stream; a lossless one is a .203.
_ALSO_MEETS = {HTJ2K_RPCL: frozenset({HTJ2K_LOSSLESS, HTJ2K}), HTJ2K_LOSSLESS: frozenset({HTJ2K})}
# Whose first bytes already decode to a lower-resolution image (resolution-first progression).
PROGRESSIVE = frozenset({HTJ2K_RPCL})


def media_type_of(transfer_syntax: str) -> str:
    """The media type PS3.18 gives a frame in that syntax (octets for native and unknown ones)."""
    return next((name for name, _, members in _FAMILIES if transfer_syntax in members), OCTETS)


def _default_of(media_type: str) -> str:
    return next((default for name, default, _ in _FAMILIES if name == media_type), EXPLICIT_LE)


@dataclass(frozen=True, slots=True)
class MediaRange:
    media_type: (
        str  # of the frame itself (a multipart range's ``type``), lower case, aliases mapped
    )
    transfer_syntax: str  # "" when the range names none
    multipart: bool
    quality: float


@dataclass(frozen=True, slots=True)
class FrameAnswer:
    """Frames as stored: the Content-Type of the answer (single part) or of each part."""

    content_type: str
    single_part: bool


def _parameters(parts: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for part in parts:
        name, _, value = part.partition("=")
        values[name.strip().lower()] = value.strip().strip('"').strip()
    return values


def parse_accept(accept: str) -> list[MediaRange]:
    """The media ranges of an Accept value; a multipart range's ``type`` may carry its own
    parameters inside the quotes (``type="image/jphc; transfer-syntax=…"``)."""
    ranges = []
    for item in _split_outside_quotes(accept, ","):
        fields = _split_outside_quotes(item, ";")
        media_type = fields[0].strip().lower() if fields else ""
        if not media_type:
            continue
        values = _parameters(fields[1:])
        try:
            quality = float(values.get("q", "1"))
        except ValueError:
            quality = 0.0
        multipart = media_type == "multipart/related"
        syntax = values.get("transfer-syntax", "")
        if multipart:
            inner = [field.strip() for field in values.get("type", OCTETS).split(";")]
            media_type = inner[0].lower()
            syntax = _parameters(inner[1:]).get("transfer-syntax", syntax)
        ranges.append(MediaRange(ALIASES.get(media_type, media_type), syntax, multipart, quality))
    return ranges


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    items: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return items


def _takes(media_range: MediaRange, stored: str) -> bool:
    if media_range.quality <= 0 or media_range.media_type != media_type_of(stored):
        return False
    wanted = media_range.transfer_syntax or _default_of(media_range.media_type)
    return wanted in ("*", stored) or wanted in _ALSO_MEETS.get(stored, frozenset())


def negotiate(accept: str, stored: str, *, cornerstone: bool) -> FrameAnswer | None:
    """How to answer frames stored in ``stored`` to a client accepting ``accept``, or None when
    only a transcoded answer (Orthanc's) would do.

    ``application/octet-stream`` ranges keep their historical meaning for compressed frames
    (octets in the named syntax, or ``*``); the answer is labelled with the stored syntax's own
    media type, as Orthanc's DICOMweb plugin does. A multipart range from cornerstone
    (``cornerstone``: its unquoted ``type=…; transfer-syntax=*``) is read as single part, which
    is what its loader parses and what byte ranges need.
    """
    for media_range in parse_accept(accept):
        as_octets = media_range.media_type == OCTETS and media_range.transfer_syntax in (
            "*",
            stored,
        )
        if not (as_octets and media_range.quality > 0) and not _takes(media_range, stored):
            continue
        label = stored
        if media_range.transfer_syntax not in ("", "*") and media_range.media_type != OCTETS:
            label = media_range.transfer_syntax  # met by the stored stream; say what was asked
        content_type = f"{media_type_of(stored)}; transfer-syntax={label}"
        return FrameAnswer(content_type, single_part=not media_range.multipart or cornerstone)
    return None
