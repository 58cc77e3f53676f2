"""Pure: a study's identity, and Orthanc's ids derived from DICOM identifiers.

A StudyInstanceUID alone does not name a study: two patients' studies can carry the same one
(by error or on purpose). Orthanc keeps them apart because its ids hash the PatientID with the
UIDs (Orthanc Book, "Orthanc identifiers"): study = SHA-1 of "PatientID|StudyInstanceUID",
series adds "|SeriesInstanceUID", instance adds "|SOPInstanceUID", written as five dash-separated
groups of eight hex digits. So the exact Orthanc resource of a series or instance *of one
patient's study* is known without a UID lookup, and a lookup can never land in another
patient's study.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


def orthanc_id(patient_id: str, *uids: str) -> str:
    """Orthanc's id of the study (one UID), series (two) or instance (three) of a patient."""
    if not 1 <= len(uids) <= 3:
        raise ValueError("give the study UID, then optionally the series and instance UIDs")
    digest = hashlib.sha1("|".join((patient_id, *uids)).encode(), usedforsecurity=False)
    hexdigest = digest.hexdigest()
    return "-".join(hexdigest[i : i + 8] for i in range(0, 40, 8))


@dataclass(frozen=True, slots=True)
class StudyRef:
    """The one study a StudyInstanceUID stands for in the portal (its owner, see docs/portal.md)."""

    study_uid: str
    patient_id: str
    orthanc_study_id: str

    def series_id(self, series_uid: str) -> str:
        return orthanc_id(self.patient_id, self.study_uid, series_uid)

    def instance_id(self, series_uid: str, sop_uid: str) -> str:
        return orthanc_id(self.patient_id, self.study_uid, series_uid, sop_uid)
