"""Pure: NeuroNova values → validated FHIR R4 resources (fhir.resources, R4B models).

fhir.resources 8 ships R5 by default and R4B as a subpackage; Patient, ImagingStudy, Endpoint,
Device, Observation and DiagnosticReport are the same in R4 and R4B, so the R4B models validate
what an R4 server (HAPI FHIR, OpenEMR) accepts. Every resource carries a business identifier so
the client can create/update it conditionally and a re-send never duplicates it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fhir.resources.R4B.device import Device
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.endpoint import Endpoint
from fhir.resources.R4B.imagingstudy import ImagingStudy
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.resource import Resource

from fhir_sync.values import AiResult, LabelVolume, PatientInfo, ReportStatus, StudyInfo

DICOM_UID_SYSTEM = "urn:dicom:uid"  # FHIR's rule for DICOM UIDs: value "urn:oid:<uid>"
DCM_SYSTEM = "http://dicom.nema.org/resources/ontology/DCM"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
REPORT_SYSTEM = "urn:neuronova:ai-report"  # value: "<study_uid>:<model_id>", stable across re-runs
JOB_SYSTEM = "urn:neuronova:ai-job"  # value: the job id that produced the current content
OBSERVATION_SYSTEM = "urn:neuronova:ai-observation"  # "<study_uid>:<model_id>:<label>"
DEVICE_SYSTEM = "urn:neuronova:ai-model"  # "<model_id>:<model_version>"
ENDPOINT_SYSTEM = "urn:neuronova:endpoint"

__all__ = ["ReportStatus"]  # defined with the values it describes (fhir_sync.values)


@dataclass(frozen=True, slots=True)
class BusinessId:
    system: str
    value: str

    @property
    def token(self) -> str:
        """The FHIR token search value `system|value`."""
        return f"{self.system}|{self.value}"


def dicom_uid(uid: str) -> str:
    return f"urn:oid:{uid}"


def patient_id(info: PatientInfo, *, id_system: str) -> BusinessId:
    return BusinessId(id_system, info.patient_id)


def study_id(study: StudyInfo) -> BusinessId:
    return BusinessId(DICOM_UID_SYSTEM, dicom_uid(study.study_uid))


def endpoint_id(address: str) -> BusinessId:
    return BusinessId(ENDPOINT_SYSTEM, address)


def device_id(result: AiResult) -> BusinessId:
    return BusinessId(DEVICE_SYSTEM, f"{result.model_id}:{result.model_version}")


def report_id(study_uid: str, result: AiResult) -> BusinessId:
    return BusinessId(REPORT_SYSTEM, f"{study_uid}:{result.model_id}")


def observation_id(study_uid: str, result: AiResult, label: LabelVolume) -> BusinessId:
    return BusinessId(OBSERVATION_SYSTEM, f"{study_uid}:{result.model_id}:{label.label}")


def _identifier(key: BusinessId, **extra: str) -> dict[str, Any]:
    return {"system": key.system, "value": key.value, **extra}


def _ref(reference: str, display: str = "") -> dict[str, Any]:
    return {"reference": reference, **({"display": display} if display else {})}


_GENDER = {"M": "male", "F": "female", "O": "other"}


def _name_group(group: str, *, use: str) -> dict[str, Any] | None:
    parts = [*group.split("^"), "", "", "", "", ""][:5]
    family, given, middle, prefix, suffix = (part.strip() for part in parts)
    if not any((family, given, middle, prefix, suffix)):
        return None
    name: dict[str, Any] = {"use": use, "text": " ".join(p for p in (given, middle, family) if p)}
    if family:
        name["family"] = family
    if given_names := [g for g in (given, *middle.split()) if g]:
        name["given"] = given_names
    if prefix:
        name["prefix"] = [prefix]
    if suffix:
        name["suffix"] = [suffix]
    return name


def _human_name(pn: str) -> list[dict[str, Any]]:
    """DICOM PN → HumanName: the alphabetic group is the official name; the ideographic and
    phonetic groups (after `=`, e.g. Korean or Japanese script) follow as further names."""
    names = []
    for index, group in enumerate(pn.split("=")[:3]):
        name = _name_group(group, use="official" if index == 0 else "usual")
        if name is not None:
            names.append(name)
    return names


def patient_resource(info: PatientInfo, *, id_system: str) -> Patient:
    data: dict[str, Any] = {
        "identifier": [_identifier(patient_id(info, id_system=id_system), use="usual")],
        "gender": _GENDER.get(info.sex.upper(), "unknown"),
    }
    if name := _human_name(info.name):
        data["name"] = name
    if info.birth_date is not None:
        data["birthDate"] = info.birth_date.isoformat()
    return Patient.model_validate(data)


def endpoint_resource(address: str) -> Endpoint:
    """The DICOMweb (WADO-RS) service where the study's images can be fetched."""
    return Endpoint.model_validate(
        {
            "identifier": [_identifier(endpoint_id(address))],
            "status": "active",
            "connectionType": {
                "system": "http://terminology.hl7.org/CodeSystem/endpoint-connection-type",
                "code": "dicom-wado-rs",
            },
            "name": "NeuroNova DICOMweb",
            "payloadType": [{"text": "DICOM"}],
            "payloadMimeType": ["application/dicom"],
            "address": address,
        }
    )


def _modality(code: str) -> dict[str, Any]:
    return {"system": DCM_SYSTEM, "code": code}


def imaging_study_resource(
    study: StudyInfo, *, patient_ref: str, endpoint_ref: str | None
) -> ImagingStudy:
    endpoints = [_ref(endpoint_ref)] if endpoint_ref else []
    series = []
    for item in study.series:
        entry: dict[str, Any] = {
            "uid": item.series_uid,
            "modality": _modality(item.modality),
            "numberOfInstances": item.instance_count,
        }
        if item.number is not None:
            entry["number"] = item.number
        if item.description:
            entry["description"] = item.description
        if endpoints:
            entry["endpoint"] = endpoints
        series.append(entry)
    identifiers = [_identifier(study_id(study))]
    if study.accession_number:
        identifiers.append(
            {
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "ACSN"}
                    ]
                },
                "value": study.accession_number,
            }
        )
    data: dict[str, Any] = {
        "identifier": identifiers,
        "status": "available",
        "subject": _ref(patient_ref),
        "numberOfSeries": len(study.series),
        "numberOfInstances": sum(item.instance_count for item in study.series),
        "series": series,
    }
    if modalities := sorted({item.modality for item in study.series}):
        data["modality"] = [_modality(code) for code in modalities]
    if isinstance(study.started, datetime):
        data["started"] = _instant(study.started)
    elif study.started is not None:  # DICOM StudyDate without a time: a FHIR date is allowed
        data["started"] = study.started.isoformat()
    if study.description:
        data["description"] = study.description
    if endpoints:
        data["endpoint"] = endpoints
    return ImagingStudy.model_validate(data)


def device_resource(result: AiResult) -> Device:
    """The AI model that produced a result, as a software Device (name + version)."""
    return Device.model_validate(
        {
            "identifier": [_identifier(device_id(result))],
            "status": "active",
            "deviceName": [{"name": result.model_id, "type": "model-name"}],
            "version": [{"value": result.model_version}],
            "type": {"text": "AI segmentation model (software)"},
        }
    )


def _instant(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("FHIR instants need a timezone; got a naive datetime")
    return moment.isoformat()


def observation_resource(
    result: AiResult,
    label: LabelVolume,
    *,
    study_uid: str,
    status: ReportStatus,
    patient_ref: str,
    study_ref: str,
    device_ref: str,
) -> Observation:
    body_site: dict[str, Any] = {"text": label.label}
    if label.snomed_code:
        body_site["coding"] = [
            {"system": SNOMED, "code": label.snomed_code, "display": label.label}
        ]
    return Observation.model_validate(
        {
            "identifier": [
                _identifier(observation_id(study_uid, result, label)),
                _identifier(BusinessId(JOB_SYSTEM, result.job_id)),
            ],
            "status": status,
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "imaging",
                        }
                    ]
                }
            ],
            "code": {
                "coding": [{"system": SNOMED, "code": "118565006", "display": "Volume"}],
                "text": f"{label.label} volume",
            },
            "subject": _ref(patient_ref),
            "effectiveDateTime": _instant(result.issued),
            "issued": _instant(result.issued),
            "valueQuantity": {
                "value": round(label.volume_ml, 3),
                "unit": "mL",
                "system": UCUM,
                "code": "mL",
            },
            "bodySite": body_site,
            "method": {"text": f"{result.model_id} {result.model_version}"},
            "device": _ref(device_ref, f"{result.model_id} {result.model_version}"),
            "derivedFrom": [_seg_ref(study_ref, result)],
            **_review_note(result),
        }
    )


def _review_note(result: AiResult) -> dict[str, Any]:
    review = result.review
    if not review.signed:
        return {"note": [{"text": "AI result not yet reviewed by a radiologist (unsigned)"}]}
    if review.state == "rejected":
        return {"note": [{"text": f"AI result rejected by {review.reviewer}: {review.reason}"}]}
    return {}


def _seg_ref(study_ref: str, result: AiResult) -> dict[str, Any]:
    """The ImagingStudy, naming the SEG series the volumes come from by its UID (a Reference
    may carry both): the radiologist's edited SEG once there is one, else the AI's."""
    edited = result.review.edited_seg_series_uid
    return {
        "reference": study_ref,
        "identifier": {
            "system": DICOM_UID_SYSTEM,
            "value": dicom_uid(edited or result.seg_series_uid),
        },
        "display": (
            "Radiologist-edited segmentation (DICOM SEG series)"
            if edited
            else "AI segmentation (DICOM SEG series)"
        ),
    }


def conclusion(result: AiResult) -> str:
    volumes = "; ".join(f"{item.label}: {item.volume_ml:.1f} mL" for item in result.labels)
    found = volumes or "no segmented structure"
    review = result.review
    ai = f"AI segmentation by {result.model_id} {result.model_version}"
    if not review.signed:
        return f"{ai}: {found}. Unsigned: decision support only; to be confirmed by a radiologist."
    verdict = {
        "accepted": f"{ai} accepted: {found}.",
        "rejected": f"{ai} rejected ({review.reason}).",
        "edited": f"{ai}, segmentation edited by the radiologist: {found}.",
    }.get(review.state, f"{ai}: {found}.")
    return f"{review.impression}\n\n{verdict} Signed by {review.reviewer}."


def diagnostic_report_resource(
    result: AiResult,
    *,
    study_uid: str,
    status: ReportStatus,
    patient_ref: str,
    study_ref: str,
    observation_refs: list[str],
) -> DiagnosticReport:
    return DiagnosticReport.model_validate(
        {
            "identifier": [
                _identifier(report_id(study_uid, result)),
                _identifier(BusinessId(JOB_SYSTEM, result.job_id)),
            ],
            "status": status,
            "category": [
                {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "RAD"}
                    ]
                }
            ],
            "code": {
                "coding": [
                    {"system": LOINC, "code": "18748-4", "display": "Diagnostic imaging study"}
                ],
                "text": "AI brain MRI segmentation",
            },
            "subject": _ref(patient_ref),
            "effectiveDateTime": _instant(result.issued),
            "issued": _instant(result.review.reviewed_at or result.issued),
            "imagingStudy": [_seg_ref(study_ref, result)],
            **_interpreter(result),
            "result": [_ref(ref) for ref in observation_refs],
            "conclusion": conclusion(result),
        }
    )


def _interpreter(result: AiResult) -> dict[str, Any]:
    """Who signed: a display-only reference (the portal knows a username, not a Practitioner)."""
    if not result.review.signed:
        return {}
    return {"resultsInterpreter": [{"display": result.review.reviewer}]}


def to_json(resource: Resource) -> dict[str, Any]:
    """The wire form: JSON types, no empty elements."""
    data: dict[str, Any] = resource.model_dump(mode="json", exclude_none=True, by_alias=True)
    return data
