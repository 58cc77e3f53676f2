"""Mapping NeuroNova values to FHIR R4 resources: identifiers, codes, units, validation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fhir_sync import mapping
from fhir_sync.values import (
    AiResult,
    LabelVolume,
    PatientInfo,
    ReportStatus,
    ReviewInfo,
    SeriesInfo,
    StudyInfo,
)

ISSUED = datetime(2026, 11, 26, 10, 30, tzinfo=UTC)
RESULT = AiResult(
    job_id="job-1",
    model_id="brain-tumour",
    model_version="1.2.0",
    seg_series_uid="1.2.826.0.1.9",
    issued=ISSUED,
    labels=(
        LabelVolume("enhancing tumour", 12.34567, "416940007"),
        LabelVolume("oedema", 30.0),
    ),
)
STUDY = StudyInfo(
    study_uid="1.2.826.0.1.1",
    series=(
        SeriesInfo("1.2.826.0.1.2", "MR", 24, number=1, description="T1"),
        SeriesInfo("1.2.826.0.1.9", "SEG", 1, number=99),
    ),
    started=ISSUED,
    accession_number="ACC42",
)


def test_patient_identifier_name_gender_birth_date() -> None:
    info = PatientInfo("MRN-7", "Doe^Jane^Q^Dr", date(1970, 1, 2), "F")
    data = mapping.to_json(mapping.patient_resource(info, id_system="urn:oid:1.2.3"))
    assert data["identifier"][0] == {"use": "usual", "system": "urn:oid:1.2.3", "value": "MRN-7"}
    assert data["name"][0]["family"] == "Doe"
    assert data["name"][0]["given"] == ["Jane", "Q"]
    assert data["name"][0]["prefix"] == ["Dr"]
    assert data["gender"] == "female"
    assert data["birthDate"] == "1970-01-02"


def test_patient_name_keeps_ideographic_group() -> None:
    info = PatientInfo("K-1", "Hong^Gildong=\ud64d^\uae38\ub3d9=", None, "M")
    names = mapping.to_json(mapping.patient_resource(info, id_system="urn:x"))["name"]
    assert names[0] == {
        "use": "official",
        "text": "Gildong Hong",
        "family": "Hong",
        "given": ["Gildong"],
    }
    assert names[1]["family"] == "\ud64d"
    assert names[1]["given"] == ["\uae38\ub3d9"]
    assert len(names) == 2


def test_patient_without_name_or_sex_is_still_valid() -> None:
    data = mapping.to_json(mapping.patient_resource(PatientInfo("X"), id_system="urn:x"))
    assert "name" not in data
    assert data["gender"] == "unknown"


def test_imaging_study_counts_series_modalities_and_endpoint() -> None:
    data = mapping.to_json(
        mapping.imaging_study_resource(STUDY, patient_ref="Patient/p1", endpoint_ref="Endpoint/e1")
    )
    assert data["identifier"][0] == {"system": "urn:dicom:uid", "value": "urn:oid:1.2.826.0.1.1"}
    assert data["identifier"][1]["value"] == "ACC42"
    assert data["numberOfSeries"] == 2
    assert data["numberOfInstances"] == 25
    assert [m["code"] for m in data["modality"]] == ["MR", "SEG"]
    assert data["series"][0]["uid"] == "1.2.826.0.1.2"
    assert data["series"][0]["numberOfInstances"] == 24
    assert data["series"][0]["endpoint"] == [{"reference": "Endpoint/e1"}]
    assert data["endpoint"] == [{"reference": "Endpoint/e1"}]
    assert data["subject"] == {"reference": "Patient/p1"}


def test_observation_is_a_volume_in_ucum_millilitres() -> None:
    data = mapping.to_json(
        mapping.observation_resource(
            RESULT,
            RESULT.labels[0],
            study_uid=STUDY.study_uid,
            status="final",
            patient_ref="Patient/p1",
            study_ref="ImagingStudy/s1",
            device_ref="Device/d1",
        )
    )
    assert data["valueQuantity"] == {
        "value": 12.346,
        "unit": "mL",
        "system": "http://unitsofmeasure.org",
        "code": "mL",
    }
    assert data["bodySite"]["coding"][0]["code"] == "416940007"
    assert data["identifier"][0]["value"] == "1.2.826.0.1.1:brain-tumour:enhancing tumour"
    assert data["device"]["reference"] == "Device/d1"
    assert data["method"]["text"] == "brain-tumour 1.2.0"
    assert data["derivedFrom"][0]["identifier"]["value"] == "urn:oid:1.2.826.0.1.9"


def test_report_links_study_seg_and_observations_and_concludes() -> None:
    data = mapping.to_json(
        mapping.diagnostic_report_resource(
            RESULT,
            study_uid=STUDY.study_uid,
            status="amended",
            patient_ref="Patient/p1",
            study_ref="ImagingStudy/s1",
            observation_refs=["Observation/o1", "Observation/o2"],
        )
    )
    assert data["status"] == "amended"
    assert data["identifier"][0] == {
        "system": mapping.REPORT_SYSTEM,
        "value": "1.2.826.0.1.1:brain-tumour",
    }
    assert data["identifier"][1] == {"system": mapping.JOB_SYSTEM, "value": "job-1"}
    assert data["result"] == [{"reference": "Observation/o1"}, {"reference": "Observation/o2"}]
    assert data["imagingStudy"][0]["reference"] == "ImagingStudy/s1"
    assert "enhancing tumour: 12.3 mL" in data["conclusion"]
    assert "brain-tumour 1.2.0" in data["conclusion"]
    assert data["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "18748-4",
        "display": "Diagnostic imaging study",
    }


def test_report_identifier_is_stable_across_jobs_of_one_model() -> None:
    rerun = AiResult("job-2", "brain-tumour", "1.3.0", "1.2.9", ISSUED)
    assert mapping.report_id("1.2", RESULT) == mapping.report_id("1.2", rerun)
    assert mapping.device_id(RESULT) != mapping.device_id(rerun)


def test_naive_datetime_is_refused() -> None:
    naive = AiResult("j", "m", "1", "1.2", datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone"):
        mapping.diagnostic_report_resource(
            naive,
            study_uid="1.2",
            status="final",
            patient_ref="Patient/p",
            study_ref="ImagingStudy/s",
            observation_refs=[],
        )


def test_empty_patient_id_is_refused_by_fhir_resources_validation() -> None:
    with pytest.raises(ValueError, match="value"):
        mapping.patient_resource(PatientInfo(""), id_system="urn:x")


def test_an_unsigned_report_says_so_and_a_signed_one_names_its_reviewer() -> None:
    def report(result: AiResult, status: ReportStatus) -> dict[str, Any]:
        return mapping.to_json(
            mapping.diagnostic_report_resource(
                result,
                study_uid=STUDY.study_uid,
                status=status,
                patient_ref="Patient/p1",
                study_ref="ImagingStudy/s1",
                observation_refs=["Observation/o1"],
            )
        )

    unsigned = report(RESULT, "preliminary")
    assert unsigned["status"] == "preliminary"
    assert "Unsigned" in unsigned["conclusion"]
    assert "resultsInterpreter" not in unsigned
    at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    review = ReviewInfo(
        status="final",
        state="edited",
        reviewer="radiologist",
        reviewed_at=at,
        impression="Stable disease.",
        edited_seg_series_uid="1.2.826.0.1.77",
    )
    signed = report(replace(RESULT, review=review), "final")
    assert signed["resultsInterpreter"] == [{"display": "radiologist"}]
    assert signed["conclusion"].startswith("Stable disease.")
    assert "edited by the radiologist" in signed["conclusion"]
    assert signed["issued"].startswith("2026-12-01T10:00:00")
    assert signed["imagingStudy"][0]["identifier"]["value"] == "urn:oid:1.2.826.0.1.77"
