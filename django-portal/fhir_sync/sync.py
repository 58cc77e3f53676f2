"""Wiring: mirror one study to the FHIR server (the server arrives as a Protocol-typed parameter).

Order matters because later resources reference earlier ones: Patient, Endpoint, ImagingStudy,
then per AI result the model Device, one Observation per label, and the DiagnosticReport.
Each resource is looked up by its business identifier first: absent → conditional create;
present with the same content → nothing is sent (a re-sync adds nothing, not even a version);
present but different → update in place. A result from a new job replaces the earlier report
in place, so the EMR never shows two reports for one study and model; its status follows the
radiologist's review (`preliminary` until signed, `final`, then `amended`).
The Patient is the exception: it belongs to the EMR. A DICOM sender's name, birth date or sex is
never written over it; a Patient carrying the PatientID identifier is referenced as it is, and
one is created (conditionally) only when none exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from fhir.resources.R4B.resource import Resource

from fhir_sync import mapping
from fhir_sync.config import FhirConfig
from fhir_sync.mapping import BusinessId, ReportStatus
from fhir_sync.values import AiResult, StudySnapshot

Action = Literal["created", "updated", "unchanged"]


class FhirServer(Protocol):
    def find(self, resource_type: str, identifier: str) -> dict[str, Any] | None: ...

    def create(
        self, resource_type: str, body: dict[str, Any], *, identifier: str
    ) -> dict[str, Any]: ...

    def update(
        self, resource_type: str, resource_id: str, body: dict[str, Any]
    ) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Written:
    resource_type: str
    resource_id: str
    action: Action


@dataclass(slots=True)
class SyncReport:
    written: list[Written] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(1 for item in self.written if item.action != "unchanged")

    def ids(self, resource_type: str) -> list[str]:
        return [w.resource_id for w in self.written if w.resource_type == resource_type]


def contains(ours: Any, theirs: Any) -> bool:  # noqa: ANN401 - any JSON value
    """True when all we would send is already on the server (which may add meta, text)."""
    if isinstance(ours, dict):
        return isinstance(theirs, dict) and all(
            key in theirs and contains(value, theirs[key]) for key, value in ours.items()
        )
    if isinstance(ours, list):
        return (
            isinstance(theirs, list)
            and len(ours) == len(theirs)
            and all(contains(a, b) for a, b in zip(ours, theirs, strict=True))
        )
    if isinstance(ours, int | float) and not isinstance(ours, bool):
        number = isinstance(theirs, int | float) and not isinstance(theirs, bool)
        return number and float(ours) == float(theirs)
    return bool(ours == theirs)


_ABSENT: dict[str, Any] = {}


def upsert(
    server: FhirServer,
    resource: Resource,
    key: BusinessId,
    report: SyncReport,
    *,
    existing: dict[str, Any] | None = _ABSENT,
) -> str:
    """Make the server hold `resource` under `key`; return its server id."""
    resource_type = resource.get_resource_type()
    body = mapping.to_json(resource)
    if existing is _ABSENT:
        existing = server.find(resource_type, key.token)
    if existing is None:
        stored = server.create(resource_type, body, identifier=key.token)
        action: Action = "created"
    elif contains(body, existing):
        stored, action = existing, "unchanged"
    else:
        stored = server.update(resource_type, str(existing["id"]), body)
        action = "updated"
    resource_id = str(stored["id"])
    report.written.append(Written(resource_type, resource_id, action))
    return resource_id


def ensure_patient(
    server: FhirServer, resource: Resource, key: BusinessId, report: SyncReport
) -> str:
    """The server id of the Patient with this identifier; created only when absent."""
    existing = server.find("Patient", key.token)
    if existing is None:
        stored = server.create("Patient", mapping.to_json(resource), identifier=key.token)
        action: Action = "created"
    else:
        stored, action = existing, "unchanged"
    resource_id = str(stored["id"])
    report.written.append(Written("Patient", resource_id, action))
    return resource_id


def report_status(result: AiResult) -> ReportStatus:
    """The review decides: ``preliminary`` while unsigned, ``final`` at the study's first
    signature, ``amended`` after any later one (fhir_sync.values.ReportStatus)."""
    return result.review.status


def sync_snapshot(snapshot: StudySnapshot, *, server: FhirServer, config: FhirConfig) -> SyncReport:
    """Send whatever the server lacks for this study; raises the client's FhirError kinds."""
    report = SyncReport()
    patient = snapshot.patient
    patient_ref = "Patient/" + ensure_patient(
        server,
        mapping.patient_resource(patient, id_system=config.patient_id_system),
        mapping.patient_id(patient, id_system=config.patient_id_system),
        report,
    )
    endpoint_ref = None
    if config.dicomweb_url:
        endpoint_ref = "Endpoint/" + upsert(
            server,
            mapping.endpoint_resource(config.dicomweb_url),
            mapping.endpoint_id(config.dicomweb_url),
            report,
        )
    study = snapshot.study
    study_ref = "ImagingStudy/" + upsert(
        server,
        mapping.imaging_study_resource(study, patient_ref=patient_ref, endpoint_ref=endpoint_ref),
        mapping.study_id(study),
        report,
    )
    for result in snapshot.results:
        _sync_result(
            server,
            result,
            study_uid=study.study_uid,
            patient_ref=patient_ref,
            study_ref=study_ref,
            report=report,
        )
    return report


def _sync_result(
    server: FhirServer,
    result: AiResult,
    *,
    study_uid: str,
    patient_ref: str,
    study_ref: str,
    report: SyncReport,
) -> None:
    device_ref = "Device/" + upsert(
        server, mapping.device_resource(result), mapping.device_id(result), report
    )
    key = mapping.report_id(study_uid, result)
    existing = server.find("DiagnosticReport", key.token)
    status = report_status(result)
    observation_refs = [
        "Observation/"
        + upsert(
            server,
            mapping.observation_resource(
                result,
                label,
                study_uid=study_uid,
                status=status,
                patient_ref=patient_ref,
                study_ref=study_ref,
                device_ref=device_ref,
            ),
            mapping.observation_id(study_uid, result, label),
            report,
        )
        for label in result.labels
    ]
    upsert(
        server,
        mapping.diagnostic_report_resource(
            result,
            study_uid=study_uid,
            status=status,
            patient_ref=patient_ref,
            study_ref=study_ref,
            observation_refs=observation_refs,
        ),
        key,
        report,
        existing=existing,
    )
