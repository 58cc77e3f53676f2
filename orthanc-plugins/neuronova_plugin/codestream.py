"""Pure: read the main header of a JPEG 2000 / HTJ2K codestream (ISO/IEC 15444-1 Annex A).

Used to label a re-encoded frame honestly: DICOM's HTJ2K Lossless RPCL transfer syntax
(1.2.840.10008.1.2.4.202) requires the RPCL progression order, TLM markers and the reversible
5/3 wavelet; without RPCL + TLM the right label is HTJ2K Lossless (…4.201).
"""

from __future__ import annotations

from dataclasses import dataclass

SOC = 0xFF4F
SOT = 0xFF90
SIZ = 0xFF51
COD = 0xFF52
TLM = 0xFF55
CAP = 0xFF50  # present in Part 15 (HTJ2K) codestreams

PROGRESSION_ORDERS = ("LRCP", "RLCP", "RPCL", "PCRL", "CPRL")


class CodestreamError(ValueError):
    """Not a JPEG 2000 codestream main header we can read."""


@dataclass(frozen=True, slots=True)
class CodestreamInfo:
    progression: str
    reversible: bool  # 5/3 integer wavelet
    mct: bool  # multiple component (colour) transform applied
    tlm: bool
    htj2k: bool  # CAP marker present (Part 15)
    components: int


def read_main_header(codestream: bytes) -> CodestreamInfo:
    """Walk the marker segments from SOC to the first SOT."""
    if len(codestream) < 4 or int.from_bytes(codestream[:2], "big") != SOC:
        raise CodestreamError("missing SOC marker")
    pos = 2
    found: dict[int, bytes] = {}
    while pos + 4 <= len(codestream):
        marker = int.from_bytes(codestream[pos : pos + 2], "big")
        if marker == SOT:
            break
        length = int.from_bytes(codestream[pos + 2 : pos + 4], "big")
        if marker >> 8 != 0xFF or length < 2:
            raise CodestreamError(f"bad marker segment at byte {pos}")
        found.setdefault(marker, codestream[pos + 4 : pos + 2 + length])
        pos += 2 + length
    else:
        raise CodestreamError("no SOT marker after the main header")
    if SIZ not in found or COD not in found:
        raise CodestreamError("SIZ or COD marker missing")
    cod = found[COD]
    if len(cod) < 10 or cod[1] >= len(PROGRESSION_ORDERS):
        raise CodestreamError("short or invalid COD marker")
    siz = found[SIZ]
    return CodestreamInfo(
        progression=PROGRESSION_ORDERS[cod[1]],
        reversible=cod[9] == 1,
        mct=cod[4] == 1,
        tlm=TLM in found,
        htj2k=CAP in found,
        components=int.from_bytes(siz[34:36], "big") if len(siz) >= 36 else 0,
    )
