"""Pure: validate a QIDO-RS search as PS3.18 8.3.4 defines it, without changing what it asks.

Keys: ``limit``, ``offset``, ``fuzzymatching``, ``includefield``, ``emptyvaluematching``,
``multiplevaluematching``, or an attribute: a PS3.6 keyword (case as the registry spells it) or
eight hex digits, possibly a ``.``-separated sequence path. Values are checked only where the
standard gives them a syntax: unsigned integers, ``true``/``false``, attribute lists, UID lists
(``,`` or ``\\`` separated), DA/TM ranges. Everything else (wildcards ``*`` and ``?``, person names
with ``^`` and spaces, repeated keys) is the client's to ask and Orthanc's to match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydicom.datadict import dictionary_VR, tag_for_keyword

from pacs.query import Pair, QueryRefused

PATIENT_ID_TAG = 0x00100020
MAX_UINT_DIGITS = 9
_TAG = re.compile(r"\A[0-9A-Fa-f]{8}\Z")
_KEYWORD = re.compile(r"\A[A-Za-z][A-Za-z0-9]{0,63}\Z")
_UINT = re.compile(rf"\A[0-9]{{1,{MAX_UINT_DIGITS}}}\Z")
_UID = re.compile(r"\A[0-9]{1,64}(?:\.[0-9]{1,64}){0,63}\Z")
_BOOLEAN_PARAMETERS = {"fuzzymatching", "emptyvaluematching", "multiplevaluematching"}
_DATE = r"[0-9]{8}"
_TIME = r"[0-9]{2}(?:[0-9]{2}(?:[0-9]{2}(?:\.[0-9]{1,6})?)?)?"
_RANGES = {
    "DA": re.compile(rf"\A(?:{_DATE}|{_DATE}-|-{_DATE}|{_DATE}-{_DATE})\Z"),
    "TM": re.compile(rf"\A(?:{_TIME}|{_TIME}-|-{_TIME}|{_TIME}-{_TIME})\Z"),
    "DT": re.compile(r"\A[0-9.+\-]{1,54}\Z"),
}


@dataclass(frozen=True, slots=True)
class Search:
    """A validated QIDO search: the pairs exactly as sent, plus what the portal itself reads."""

    pairs: tuple[Pair, ...]
    limit: int | None  # the last ``limit`` (Orthanc reads the last one), None when absent
    offset: int  # the last ``offset``, 0 when absent
    patient_id: str | None  # the last PatientID match value (keyword or 00100020), None if absent


def attribute_tag(text: str) -> int | None:
    """The tag of one attribute-id (keyword or 8 hex digits), None if it is neither."""
    if _TAG.match(text):
        return int(text, 16)
    if _KEYWORD.match(text):
        return tag_for_keyword(text)
    return None


def attribute_path(text: str) -> tuple[int, ...]:
    """The tags of ``attribute *("." attribute-id)``; refuses anything else."""
    tags = tuple(attribute_tag(part) for part in text.split("."))
    if not tags or any(tag is None for tag in tags):
        raise QueryRefused(f"unknown attribute {text[:80]!r}")
    return tuple(tag for tag in tags if tag is not None)


def _vr(tag: int) -> str:
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return ""  # private or unknown to this dictionary: no syntax to check


def _check_value(tag: int, value: str) -> None:
    vr = _vr(tag)
    if value in ("", "*"):
        return  # universal matching, any VR (PS3.4 C.2.2.2.3)
    if vr == "UI":
        uids = re.split(r"[,\\]", value)
        if not all(_UID.match(uid) for uid in uids):
            raise QueryRefused(f"bad UID list for {tag:08X}")
    elif vr in _RANGES and not all(_RANGES[vr].match(item) for item in value.split(",")):
        raise QueryRefused(f"bad {vr} value or range for {tag:08X}")


def _check_parameter(key: str, value: str) -> None:
    if key in ("limit", "offset"):
        if not _UINT.match(value):
            raise QueryRefused(f"{key} must be an unsigned integer")
    elif key in _BOOLEAN_PARAMETERS:
        if value not in ("true", "false"):
            raise QueryRefused(f"{key} must be true or false")
    elif key == "includefield" and value != "all":
        for attribute in value.split(","):
            attribute_path(attribute)


def validate(pairs: tuple[Pair, ...]) -> Search:
    """Refuse a malformed search; otherwise describe it (the pairs are never changed)."""
    limit: int | None = None
    offset = 0
    patient_id: str | None = None
    for key, value in pairs:
        if key in ("limit", "offset", "includefield") or key in _BOOLEAN_PARAMETERS:
            _check_parameter(key, value)
            if key == "limit":
                limit = int(value)
            elif key == "offset":
                offset = int(value)
            continue
        tags = attribute_path(key)
        _check_value(tags[-1], value)
        if tags == (PATIENT_ID_TAG,):
            patient_id = value
    return Search(pairs=pairs, limit=limit, offset=offset, patient_id=patient_id)
