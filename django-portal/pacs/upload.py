"""Adapter (Orthanc REST via the Orthanc protocol): store uploaded DICOM files, one result each.

Before a byte reaches Orthanc, each file is checked: the uploader's right to the file's patient,
and that its StudyInstanceUID does not already belong to another patient's study (in the portal
or in the archive), which would make the upload a conflict (docs/portal.md). Files are
read from disk (Django's temporary upload files, zip members expanded to temporary files by
pacs.zip_members) and streamed to Orthanc; only headers are parsed in memory. Every problem
with one file, whatever it is, becomes that file's "rejected" result and the others go on; each
result is appended as soon as it is known, so a caller always knows what was stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO

import pydicom
from archive.orthanc import Orthanc, OrthancError
from authz.principal import Principal

from pacs import zip_members

log = logging.getLogger(__name__)
CONFLICT_REASON = "StudyInstanceUID already belongs to another patient's study"
# The PatientID of the study that owns a StudyInstanceUID in the portal, or None.
OwnerOf = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class FileResult:
    name: str
    status: str  # stored / duplicate / rejected
    reason: str = ""
    study_uid: str = ""
    orthanc_study_id: str = ""


@dataclass(frozen=True, slots=True)
class Limits:
    temp_dir: str
    max_expanded_bytes: int  # all zip members of the request together
    max_zip_ratio: int


def _identify(stream: IO[bytes]) -> tuple[str, str]:
    # Large values (pixels, big private elements) are skipped, never read into memory.
    dataset = pydicom.dcmread(stream, stop_before_pixels=True, defer_size="256 KB")
    return str(dataset.get("PatientID", "")), str(dataset.get("StudyInstanceUID", ""))


def _owned_by_another(orthanc: Orthanc, owner_of: OwnerOf, patient_id: str, study_uid: str) -> bool:
    owner = owner_of(study_uid)
    if owner is not None and owner != patient_id:
        return True
    return any(pid != patient_id for _, pid in orthanc.studies_with_uid(study_uid))


def _refusal(principal: Principal, patient_id: str, study_uid: str) -> str:
    if not patient_id or not study_uid:
        return "missing PatientID or StudyInstanceUID"
    if principal.patient_ids is not None and patient_id not in principal.patient_ids:
        return "patient not assigned to you"
    return ""


def store_one(
    *, orthanc: Orthanc, principal: Principal, owner_of: OwnerOf, name: str, stream: IO[bytes]
) -> FileResult:
    try:
        patient_id, study_uid = _identify(stream)
    except Exception as exc:  # noqa: BLE001 - any parse failure: this file is not DICOM
        return FileResult(name, "rejected", f"not a DICOM file: {type(exc).__name__}")
    refusal = _refusal(principal, patient_id, study_uid)
    if refusal:
        return FileResult(name, "rejected", refusal, study_uid if patient_id else "")
    stream.seek(0)
    try:
        if _owned_by_another(orthanc, owner_of, patient_id, study_uid):
            return FileResult(name, "rejected", CONFLICT_REASON, study_uid)
        code, answer = orthanc.store(stream)
    except OrthancError:
        log.exception("upload of %s: archive unavailable", name)
        return FileResult(name, "rejected", "archive unavailable", study_uid)
    if code >= 400:
        # Orthanc's message names its internals: it goes to the log, the client gets the code
        log.warning("upload of %s refused by the archive: HTTP %s %s", name, code, answer)
        return FileResult(name, "rejected", f"the archive refused the file (HTTP {code})")
    state = "duplicate" if answer.get("Status") == "AlreadyStored" else "stored"
    return FileResult(name, state, "", study_uid, str(answer.get("ParentStudy", "")))


def store_all(
    *,
    orthanc: Orthanc,
    principal: Principal,
    owner_of: OwnerOf,
    files: Iterable[tuple[str, IO[bytes]]],
    limits: Limits,
    results: list[FileResult],
) -> None:
    """Store each file, or each member of a zip, appending one result per file to ``results``."""
    budget = zip_members.Budget(limits.max_expanded_bytes)
    for name, stream in files:
        if not zip_members.is_zip(stream):
            results.append(
                store_one(
                    orthanc=orthanc,
                    principal=principal,
                    owner_of=owner_of,
                    name=name,
                    stream=stream,
                )
            )
            continue
        try:
            for member in zip_members.members(
                stream, temp_dir=limits.temp_dir, budget=budget, max_ratio=limits.max_zip_ratio
            ):
                member_name = f"{name}:{member.name}"
                if member.stream is None:
                    results.append(FileResult(member_name, "rejected", member.refusal))
                    continue
                results.append(
                    store_one(
                        orthanc=orthanc,
                        principal=principal,
                        owner_of=owner_of,
                        name=member_name,
                        stream=member.stream,
                    )
                )
        except zip_members.ZipRefused as refused:
            results.append(FileResult(name, "rejected", str(refused)[:200]))
