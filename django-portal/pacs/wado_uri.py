"""Pure: validate a WADO-URI request (PS3.18 chapter 9) without changing what it asks.

``requestType=WADO`` and the three UIDs are required once each (the portal authorises by them);
every other parameter of the standard may appear once, with its syntax checked, and is passed on
as sent (Orthanc reads ``contentType`` and ignores the rest, as it would if asked directly).
A missing ``contentType`` stays missing: the standard's default (``image/jpeg``) is Orthanc's to
apply. Unknown or repeated parameters are refused.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from pacs.paths import is_uid
from pacs.query import Pair, QueryRefused

_RFC6838_NAME = r"[A-Za-z0-9!#$&^_.+-]+"
_MEDIA_TYPE = re.compile(rf"\A{_RFC6838_NAME}/{_RFC6838_NAME}(?:;{_RFC6838_NAME}=[^,;]+)*\Z")
_UINT = re.compile(r"\A[0-9]{1,6}\Z")
_DECIMAL = re.compile(r"\A[+-]?[0-9]{1,9}(?:\.[0-9]{1,9})?\Z")
_REGION = re.compile(r"\A(?:[0-9](?:\.[0-9]{1,9})?,){3}[0-9](?:\.[0-9]{1,9})?\Z")
_QUALITY = re.compile(r"\A(?:100|[1-9][0-9]?)\Z")
_CHARSET = re.compile(r"\A[A-Za-z0-9_.:-]{1,40}(?:,[A-Za-z0-9_.:-]{1,40})*\Z")
_ANNOTATION = re.compile(r"\A(?:patient|technique)(?:,(?:patient|technique))?\Z")


def _media_types(value: str) -> bool:
    return all(_MEDIA_TYPE.match(item.strip()) for item in value.split(","))


_CHECKS: dict[str, Callable[[str], bool]] = {
    "requestType": lambda v: v == "WADO",
    "studyUID": is_uid,
    "seriesUID": is_uid,
    "objectUID": is_uid,
    "contentType": _media_types,
    "charset": lambda v: bool(_CHARSET.match(v)),
    "anonymize": lambda v: v == "yes",
    "annotation": lambda v: bool(_ANNOTATION.match(v)),
    "rows": lambda v: bool(_UINT.match(v)),
    "columns": lambda v: bool(_UINT.match(v)),
    "region": lambda v: bool(_REGION.match(v)),
    "windowCenter": lambda v: bool(_DECIMAL.match(v)),
    "windowWidth": lambda v: bool(_DECIMAL.match(v)),
    "frameNumber": lambda v: bool(_UINT.match(v)) and v.lstrip("0") != "",
    "imageQuality": lambda v: bool(_QUALITY.match(v)),
    "presentationUID": is_uid,
    "presentationSeriesUID": is_uid,
    "transferSyntax": is_uid,
}
_REQUIRED = ("requestType", "studyUID", "seriesUID", "objectUID")


@dataclass(frozen=True, slots=True)
class WadoUri:
    study_uid: str
    series_uid: str
    sop_uid: str
    pairs: tuple[Pair, ...]  # every parameter, as sent


def validate(pairs: tuple[Pair, ...]) -> WadoUri:
    counts = Counter(key for key, _ in pairs)
    for key, count in counts.items():
        if key not in _CHECKS:
            raise QueryRefused(f"unknown WADO-URI parameter {key[:40]!r}")
        if count > 1:
            raise QueryRefused(f"{key} must appear once")
    for key in _REQUIRED:
        if key not in counts:
            raise QueryRefused(f"{key} is required")
    values = dict(pairs)
    for key, value in pairs:
        if not _CHECKS[key](value):
            raise QueryRefused(f"bad {key}")
    return WadoUri(
        study_uid=values["studyUID"],
        series_uid=values["seriesUID"],
        sop_uid=values["objectUID"],
        pairs=pairs,
    )
