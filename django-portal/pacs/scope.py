"""Pure: a clinician's QIDO, always constrained to their own patients and paged.

The search the clinician sent is kept, except that its own ``PatientID`` match (keyword or
``00100020``) and ``limit``/``offset`` are replaced: every query reaching Orthanc carries
``PatientID=<own ids, comma-separated>`` (Orthanc's DICOMweb plugin reads a comma list as a list
of exact values) and a ``limit``, so Orthanc only ever looks at the clinician's patients, never
the archive. The client's PatientID narrows that list the way Orthanc would read it (a comma list
of exact values, or one value with ``*``/``?`` wildcards, case-sensitive as for LO); it can never
add a patient. Rows are still kept only when their (PatientID, StudyInstanceUID) is one of the
clinician's studies, so a study UID reused by another patient never shows.

A PatientID containing ``*``, ``?``, ``,`` or ``\\`` cannot be asked for exactly in QIDO (Orthanc
would read a wildcard or a list): such patients are left out of clinicians' searches and
reported by ``inexpressible`` so the caller can log them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pacs.qido import PATIENT_ID_TAG, Search, attribute_tag
from pacs.query import Pair

IDS_PER_QUERY = 50
_NOT_EXACT = re.compile(r"[*?,\\]")
_WILDCARD = re.compile(r"([*?])")


def inexpressible(patient_ids: Iterable[str]) -> list[str]:
    return sorted(pid for pid in patient_ids if not pid or _NOT_EXACT.search(pid))


def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    parts = _WILDCARD.split(pattern)
    body = "".join(
        ".*" if part == "*" else "." if part == "?" else re.escape(part) for part in parts
    )
    return re.compile(rf"\A{body}\Z", re.DOTALL)


def candidate_patients(own: Iterable[str], requested: str | None) -> list[str]:
    """The clinician's patient IDs that the client's PatientID value selects, sorted."""
    mine = sorted(pid for pid in own if pid and not _NOT_EXACT.search(pid))
    if requested is None:
        return mine
    value = requested.replace("\\", "")  # the DICOMweb plugin drops backslashes
    if value in ("", "*"):
        return mine
    if "," in value:
        wanted = set(value.split(","))
        return [pid for pid in mine if pid in wanted]
    matcher = _wildcard_regex(value)
    return [pid for pid in mine if matcher.match(pid)]


def _is_patient_id(key: str) -> bool:
    return key.count(".") == 0 and attribute_tag(key) == PATIENT_ID_TAG


def without_patient_id(pairs: tuple[Pair, ...]) -> tuple[Pair, ...]:
    """The pairs less any PatientID match (keyword or ``00100020``)."""
    return tuple((key, value) for key, value in pairs if not _is_patient_id(key))


def orthanc_queries(search: Search, patient_ids: list[str]) -> list[tuple[Pair, ...]]:
    """One query per chunk of patients; ``limit``/``offset`` are added per page by the caller."""
    kept = tuple(
        (key, value)
        for key, value in without_patient_id(search.pairs)
        if key not in ("limit", "offset")
    )
    return [
        (*kept, ("PatientID", ",".join(patient_ids[start : start + IDS_PER_QUERY])))
        for start in range(0, len(patient_ids), IDS_PER_QUERY)
    ]


@dataclass(frozen=True, slots=True)
class Page:
    offset: int
    limit: int
    capped: bool  # the client asked for more than the portal returns at once (or no limit)

    @property
    def wanted(self) -> int:
        """Visible rows to collect: the page, plus one to tell whether more exist."""
        return self.offset + self.limit + 1


def page_of(search: Search, max_results: int) -> Page:
    """``limit`` as Orthanc reads it (absent or 0: no limit), bounded by ``max_results``."""
    if not search.limit or search.limit > max_results:
        return Page(offset=search.offset, limit=max_results, capped=True)
    return Page(offset=search.offset, limit=search.limit, capped=False)


def _first(row: dict[str, Any], tag: str) -> str:
    values = (row.get(tag) or {}).get("Value") or [""]
    return str(values[0])


def study_key(row: dict[str, Any]) -> tuple[str, str]:
    """(PatientID, StudyInstanceUID) of a DICOM JSON row."""
    return _first(row, "00100020"), _first(row, "0020000D")


def visible_rows(
    rows: list[dict[str, Any]], allowed: frozenset[tuple[str, str]]
) -> list[dict[str, Any]]:
    return [row for row in rows if study_key(row) in allowed]
