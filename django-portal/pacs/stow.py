"""Pure: STOW-RS through the portal — the body's parts, the checks per instance, the answer.

Only radiologists store, and only what closes a review: Segmentation Storage (an edited SEG)
and the structured-report classes below. Each instance must name a study the portal knows and
the caller may read, under that study's own PatientID (the Orthanc resource is PatientID +
StudyInstanceUID: another PatientID would file a new study under the UID, a collision, so it is
refused); a SEG must reference series of that study (the AI SEG or its source images) and be a
new series, never one of the study's existing series (the AI SEG is kept as it is). No instance
takes the SOPInstanceUID of another series' instance (Orthanc would keep both, and a viewer
asking by UID could get either) or of an edit recorded for another study.

Failure reasons are PS3.4's storage status codes, as PS3.18 asks in FailureReason (0008,1197).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from django.utils.http import parse_header_parameters
from requests_toolbelt.multipart import decoder  # type: ignore[import-untyped]

SEG_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4"
SR_STORAGE = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.88.11",  # Basic Text SR
        "1.2.840.10008.5.1.4.1.1.88.22",  # Enhanced SR
        "1.2.840.10008.5.1.4.1.1.88.33",  # Comprehensive SR
        "1.2.840.10008.5.1.4.1.1.88.34",  # Comprehensive 3D SR
        "1.2.840.10008.5.1.4.1.1.88.35",  # Extensible SR
    }
)
STORABLE = frozenset({SEG_STORAGE, *SR_STORAGE})
DICOM = "application/dicom"


class Failure(IntEnum):
    PROCESSING_FAILURE = 0x0110
    DUPLICATE_SOP_INSTANCE = 0x0111
    SOP_CLASS_NOT_SUPPORTED = 0x0122
    NOT_AUTHORISED = 0x0124
    DOES_NOT_MATCH_SOP_CLASS = 0xA900
    CANNOT_UNDERSTAND = 0xC000


class BodyRefused(ValueError):  # noqa: N818 - a refusal of the whole request
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def parts(body: bytes, content_type: str) -> list[bytes]:
    """The application/dicom parts of a ``multipart/related`` body (requests-toolbelt's
    decoder); BodyRefused 415 for another media type, 400 for a malformed body."""
    media, params = parse_header_parameters(content_type)
    if media.lower() != "multipart/related":
        raise BodyRefused(415, 'STOW-RS takes multipart/related; type="application/dicom"')
    if params.get("type", DICOM).strip('"').lower() != DICOM:
        raise BodyRefused(415, "only application/dicom parts are accepted (no metadata+bulk)")
    boundary = params.get("boundary", "").strip('"')
    if not boundary or len(boundary) > 70:
        raise BodyRefused(400, "multipart/related without a valid boundary")
    try:
        found = decoder.MultipartDecoder(_framed(body, boundary), content_type).parts
    except (decoder.ImproperBodyPartContentException, UnicodeDecodeError, ValueError) as exc:
        raise BodyRefused(400, f"malformed multipart body: {exc}") from exc
    out: list[bytes] = []
    for part in found:
        kind = part.headers.get(b"content-type", b"").decode("latin-1")
        if parse_header_parameters(kind)[0].lower() != DICOM:
            raise BodyRefused(415, f"a part of type {kind or 'none'!r}: only application/dicom")
        out.append(bytes(part.content))
    if not out:
        raise BodyRefused(400, "no instance in the body")
    return out


def _framed(body: bytes, boundary: str) -> bytes:
    """The body from its first delimiter to its close delimiter. RFC 2046 lets a preamble
    precede the first delimiter and an epilogue follow the last, both ignored: dicomweb-client
    (OHIF's STOW) opens with CRLF + delimiter and leaves zero bytes after the close. The decoder
    splits on CRLF + delimiter and would take either for a part; a body without both delimiters
    is not multipart (400)."""
    marker = f"--{boundary}".encode("ascii", "replace")
    start = 0 if body.startswith(marker) else body.find(b"\r\n" + marker)
    close = body.rfind(b"\r\n" + marker + b"--")
    if start < 0 or close < start:
        raise BodyRefused(400, "the body is not framed by its multipart boundary")
    return body[start : close + len(marker) + 4]


@dataclass(frozen=True, slots=True)
class Instance:
    """What the checks need of one received instance (read by pydicom in the view)."""

    sop_class_uid: str
    sop_instance_uid: str
    study_uid: str
    series_uid: str
    patient_id: str
    referenced_series: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Target:
    """The study the instance's StudyInstanceUID stands for, as far as the caller may see."""

    patient_id: str  # the owner's PatientID
    series_uids: frozenset[str]  # the study's series in the archive now
    edited_series_uids: frozenset[str]  # of those, the edited SEGs the portal stored
    # this SOPInstanceUID is already an instance of another series of the study, or an edit the
    # portal recorded for another study or series
    sop_taken: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    failure: Failure | None
    reason: str


def check(instance: Instance, target: Target | None) -> Verdict:
    """Whether this instance may be stored (``target`` None: unknown or not visible study)."""
    if instance.sop_class_uid not in STORABLE:
        return Verdict(Failure.SOP_CLASS_NOT_SUPPORTED, "only SEG and SR instances are stored")
    if target is None:
        return Verdict(Failure.NOT_AUTHORISED, "not a study you may see")
    if instance.patient_id != target.patient_id:
        return Verdict(Failure.NOT_AUTHORISED, "PatientID differs from the study's")
    if target.sop_taken:
        return Verdict(Failure.DUPLICATE_SOP_INSTANCE, "the SOPInstanceUID is another's")
    if instance.sop_class_uid != SEG_STORAGE:
        return Verdict(None, "stored")
    return _seg_verdict(instance, target)


def _seg_verdict(instance: Instance, target: Target) -> Verdict:
    existing = target.series_uids - target.edited_series_uids
    seg_rules = (
        (not instance.referenced_series, "the SEG references no series"),
        (
            not instance.referenced_series <= target.series_uids,
            "the SEG references series outside this study",
        ),
        (
            instance.series_uid in existing,
            "an edited SEG is a new series: this SeriesInstanceUID is one of the study's",
        ),
    )
    for broken, reason in seg_rules:
        if broken:
            return Verdict(Failure.DOES_NOT_MATCH_SOP_CLASS, reason)
    return Verdict(None, "stored")


def _uid(value: str) -> dict[str, Any]:
    return {"vr": "UI", "Value": [value]} if value else {"vr": "UI"}


@dataclass(frozen=True, slots=True)
class Outcome:
    sop_class_uid: str
    sop_instance_uid: str
    failure: Failure | None
    retrieve_url: str = ""


def response(outcomes: Iterable[Outcome], study_url: str = "") -> tuple[int, dict[str, Any]]:
    """PS3.18 10.5.3: the status (200 all stored, 202 some, 409 none) and the DICOM JSON body."""
    stored, failed = [], []
    for item in outcomes:
        entry: dict[str, Any] = {
            "00081150": _uid(item.sop_class_uid),
            "00081155": _uid(item.sop_instance_uid),
        }
        if item.failure is None:
            stored.append(entry | {"00081190": {"vr": "UR", "Value": [item.retrieve_url]}})
        else:
            failed.append(entry | {"00081197": {"vr": "US", "Value": [int(item.failure)]}})
    body: dict[str, Any] = {}
    if study_url and stored:
        body["00081190"] = {"vr": "UR", "Value": [study_url]}
    if failed:
        body["00081198"] = {"vr": "SQ", "Value": failed}
    if stored:
        body["00081199"] = {"vr": "SQ", "Value": stored}
    status = 200 if not failed else (202 if stored else 409)
    return status, body


def counts(outcomes: Iterable[Outcome]) -> Mapping[str, int]:
    done = [o.failure is None for o in outcomes]
    return {"stored": sum(done), "failed": len(done) - sum(done)}
