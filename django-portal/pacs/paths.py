"""Pure: parse an authorised DICOMweb path into validated identifiers, or refuse it.

Only paths built from these parsed identifiers are ever sent on to Orthanc, so traversal
(``..``, encoded slashes, doubled slashes, control characters) cannot reach any other route.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

UID = r"[0-9]{1,64}(?:\.[0-9]{1,64}){0,63}"
_UID_RE = re.compile(rf"\A{UID}\Z")
_FRAMES_RE = re.compile(r"\A[1-9][0-9]{0,5}(?:,[1-9][0-9]{0,5}){0,63}\Z")
# A BulkDataURI below .../bulk/: tags (8 hex digits, or Orthanc's gggg,eeee) and item numbers.
_BULK_SEGMENT = re.compile(r"\A(?:[0-9A-Fa-f]{8}|[0-9A-Fa-f]{4},[0-9A-Fa-f]{4}|[0-9]{1,6})\Z")
MAX_BULK_DEPTH = 15
MAX_UID_LENGTH = 64


class Kind(Enum):
    SEARCH_STUDIES = "search-studies"  # QIDO /studies
    SEARCH_SERIES = "search-series"  # QIDO /series (all studies)
    SEARCH_INSTANCES = "search-instances"  # QIDO /instances (all studies)
    STUDY = "study"  # anything under one study (retrieve, metadata, QIDO in study, rendered)
    FRAMES = "frames"  # frames (tail "" ) or their rendering (tail "rendered")
    BULK = "bulk"  # an instance's bulk data (tail "bulk/{tag}[/{item}/{tag}…]")


# What may follow a study / series / instance UID, per level.
_STUDY_TAILS = {"", "metadata", "series", "instances", "rendered", "thumbnail"}
_SERIES_TAILS = {"", "metadata", "instances", "rendered", "thumbnail"}
_INSTANCE_TAILS = {"", "metadata", "rendered", "thumbnail"}


class PathRefused(ValueError):  # noqa: N818 - an answer (400), not a fault
    """The path is not a DICOMweb resource this portal serves (answer 400)."""


@dataclass(frozen=True, slots=True)
class Target:
    kind: Kind
    study_uid: str = ""
    series_uid: str = ""
    sop_uid: str = ""
    frames: tuple[int, ...] = ()
    tail: str = ""

    def orthanc_path(self) -> str:
        """The DICOMweb path (under Orthanc's /dicom-web/) rebuilt from validated parts."""
        if self.kind is Kind.SEARCH_STUDIES:
            return "studies"
        if self.kind is Kind.SEARCH_SERIES:
            return "series"
        if self.kind is Kind.SEARCH_INSTANCES:
            return "instances"
        parts = ["studies", self.study_uid]
        if self.series_uid:
            parts += ["series", self.series_uid]
        if self.sop_uid:
            parts += ["instances", self.sop_uid]
        if self.kind is Kind.FRAMES:
            parts += ["frames", ",".join(str(f) for f in self.frames)]
        if self.tail:
            parts.append(self.tail)
        return "/".join(parts)


def is_uid(text: str) -> bool:
    return len(text) <= MAX_UID_LENGTH and bool(_UID_RE.match(text))


def _uid(text: str) -> str:
    if not is_uid(text):
        raise PathRefused("not a DICOM UID")
    return text


def parse(path: str) -> Target:
    """Parse the (already percent-decoded) path after ``/api/pacs/dicom-web/``."""
    if not path or len(path) > 400 or not path.isascii() or not path.isprintable():
        raise PathRefused("empty, overlong or non-printable path")
    parts = path.split("/")
    if parts[-1] == "" and len(parts) > 1:
        parts = parts[:-1]  # one trailing slash is tolerated
    if any(part == "" for part in parts):
        raise PathRefused("empty path segment")
    root = {"studies": Kind.SEARCH_STUDIES, "series": Kind.SEARCH_SERIES}
    root["instances"] = Kind.SEARCH_INSTANCES
    if len(parts) == 1:
        if parts[0] not in root:
            raise PathRefused("unknown resource")
        return Target(kind=root[parts[0]])
    if parts[0] != "studies":
        raise PathRefused("only /studies/{uid}/… below the root")
    return _parse_study(_uid(parts[1]), parts[2:])


def _parse_study(study_uid: str, rest: list[str]) -> Target:
    if len(rest) <= 1:
        return _leaf(Target(kind=Kind.STUDY, study_uid=study_uid), rest, _STUDY_TAILS)
    if rest[0] != "series":
        raise PathRefused("unknown study sub-resource")
    series_uid = _uid(rest[1])
    rest = rest[2:]
    base = Target(kind=Kind.STUDY, study_uid=study_uid, series_uid=series_uid)
    if len(rest) <= 1:
        return _leaf(base, rest, _SERIES_TAILS)
    if rest[0] != "instances":
        raise PathRefused("unknown series sub-resource")
    sop_uid = _uid(rest[1])
    rest = rest[2:]
    instance = Target(kind=Kind.STUDY, study_uid=study_uid, series_uid=series_uid, sop_uid=sop_uid)
    if len(rest) in (2, 3) and rest[0] == "frames":
        if not _FRAMES_RE.match(rest[1]):
            raise PathRefused("bad frame list")
        if rest[2:] not in ([], ["rendered"]):
            raise PathRefused("unknown frames sub-resource")
        frames = tuple(int(f) for f in rest[1].split(","))
        return Target(Kind.FRAMES, study_uid, series_uid, sop_uid, frames, "/".join(rest[2:]))
    if len(rest) >= 2 and rest[0] == "bulk":
        if len(rest) > MAX_BULK_DEPTH + 1 or not all(_BULK_SEGMENT.match(p) for p in rest[1:]):
            raise PathRefused("bad bulk data path")
        return Target(Kind.BULK, study_uid, series_uid, sop_uid, (), "/".join(rest))
    if len(rest) <= 1:
        return _leaf(instance, rest, _INSTANCE_TAILS)
    raise PathRefused("unknown instance sub-resource")


def _leaf(base: Target, rest: list[str], allowed: set[str]) -> Target:
    tail = rest[0] if rest else ""
    if tail not in allowed:
        raise PathRefused("unknown sub-resource")
    return Target(base.kind, base.study_uid, base.series_uid, base.sop_uid, (), tail)
