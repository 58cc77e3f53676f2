"""Pure: map Orthanc's study / series JSON to the mirror's field values."""

from __future__ import annotations

from typing import Any


def _tag(tags: dict[str, Any], name: str, limit: int) -> str:
    return str(tags.get(name, "") or "")[:limit]


def patient_fields(study: dict[str, Any]) -> dict[str, str]:
    tags = dict(study.get("PatientMainDicomTags") or {})
    return {
        "patient_id": _tag(tags, "PatientID", 64),
        "patient_name": _tag(tags, "PatientName", 200),
        "birth_date": _tag(tags, "PatientBirthDate", 8),
        "sex": _tag(tags, "PatientSex", 16),
    }


def study_fields(study: dict[str, Any], series: list[dict[str, Any]]) -> dict[str, Any]:
    tags = dict(study.get("MainDicomTags") or {})
    modalities = sorted(
        {str((s.get("MainDicomTags") or {}).get("Modality", "")) for s in series} - {""}
    )
    return {
        "study_uid": _tag(tags, "StudyInstanceUID", 64),
        "orthanc_study_id": str(study.get("ID", "")),
        "study_date": _tag(tags, "StudyDate", 8),
        "study_description": _tag(tags, "StudyDescription", 200),
        "accession_number": _tag(tags, "AccessionNumber", 64),
        "modalities": "\\".join(modalities)[:64],
        "series_count": len(series),
    }


def series_fields(series: dict[str, Any]) -> dict[str, Any]:
    tags = dict(series.get("MainDicomTags") or {})
    return {
        "series_uid": _tag(tags, "SeriesInstanceUID", 64),
        "orthanc_series_id": str(series.get("ID", "")),
        "modality": _tag(tags, "Modality", 16),
        "series_number": _tag(tags, "SeriesNumber", 16),
        "series_description": _tag(tags, "SeriesDescription", 200),
        "instance_count": len(series.get("Instances") or []),
    }
