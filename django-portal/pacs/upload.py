"""Adapter (Orthanc REST via the Orthanc protocol): store uploaded DICOM files, one result each.

The uploader's right to each file's patient is checked before a byte reaches Orthanc. Zips are
expanded in memory with limits on member count and total size (zip bombs).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pydicom
from pydicom.errors import InvalidDicomError

from pacs.access import Principal
from pacs.orthanc import Orthanc, OrthancError

MAX_ZIP_MEMBERS = 5000


@dataclass(frozen=True, slots=True)
class FileResult:
    name: str
    status: str  # stored / duplicate / rejected
    reason: str = ""
    study_uid: str = ""
    orthanc_study_id: str = ""


class UploadTooLarge(ValueError):  # noqa: N818 - an answer, not a fault
    pass


def expand(name: str, data: bytes, max_bytes: int) -> Iterator[tuple[str, bytes]]:
    """Yield (name, bytes) for a DICOM file, or for each member of a zip."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        yield name, data
        return
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > MAX_ZIP_MEMBERS:
            raise UploadTooLarge(f"zip has more than {MAX_ZIP_MEMBERS} files")
        if sum(m.file_size for m in members) > max_bytes:
            raise UploadTooLarge("zip expands beyond the upload limit")
        for member in members:
            with archive.open(member) as handle:
                yield f"{name}:{member.filename}", handle.read(max_bytes + 1)


def _identify(data: bytes) -> tuple[str, str]:
    dataset = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    return str(dataset.get("PatientID", "")), str(dataset.get("StudyInstanceUID", ""))


def store_one(*, orthanc: Orthanc, principal: Principal, name: str, data: bytes) -> FileResult:
    try:
        patient_id, study_uid = _identify(data)
    except (InvalidDicomError, ValueError, EOFError, OSError) as exc:
        return FileResult(name, "rejected", f"not a DICOM file: {type(exc).__name__}")
    if not patient_id or not study_uid:
        return FileResult(name, "rejected", "missing PatientID or StudyInstanceUID")
    if principal.patient_ids is not None and patient_id not in principal.patient_ids:
        return FileResult(name, "rejected", "patient not assigned to you", study_uid)
    try:
        code, answer = orthanc.store(data)
    except OrthancError as exc:
        return FileResult(name, "rejected", f"archive unavailable: {exc}"[:200], study_uid)
    if code >= 400:
        detail = str(answer.get("Message") or answer.get("Details") or answer.get("error") or "")
        return FileResult(name, "rejected", f"archive refused (HTTP {code}) {detail}"[:200])
    state = "duplicate" if answer.get("Status") == "AlreadyStored" else "stored"
    return FileResult(name, state, "", study_uid, str(answer.get("ParentStudy", "")))


def store_all(
    *, orthanc: Orthanc, principal: Principal, files: Iterable[tuple[str, bytes]], max_bytes: int
) -> list[FileResult]:
    results: list[FileResult] = []
    for name, data in files:
        try:
            members = list(expand(name, data, max_bytes))
        except (UploadTooLarge, zipfile.BadZipFile) as exc:
            results.append(FileResult(name, "rejected", str(exc)[:200]))
            continue
        for member_name, member in members:
            results.append(
                store_one(orthanc=orthanc, principal=principal, name=member_name, data=member)
            )
    return results
