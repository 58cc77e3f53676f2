"""Wiring: sign an AI result's review (radiologists), and a patient's tumour volumes over time."""

from __future__ import annotations

from typing import Any

from audit import services as audit
from authz.drf import principal_of
from authz.principal import Principal
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinical import labels, reports, review_services, selectors, trend
from clinical.models import Study
from clinical.review import ReviewRefused
from clinical.review_serializers import ReviewIn, TumourVolumesOut
from clinical.serializers import ReportOut
from clinical.views import report_of, study_for

SIGNING_ROLE = "radiologist"


def _refuse(
    request: Request,
    principal: Principal,
    action: str,
    code: int,
    why: str,
    *,
    study_uid: str = "",
    target: str = "",
) -> None:
    audit.record_for(
        principal,
        request._request,
        action=action,
        allowed=False,
        status_code=code,
        detail=why,
        study_uid=study_uid[:64],
        target=target,
    )


class StudyReview(APIView):
    """``POST /api/studies/{study_uid}/review``: radiologists sign the newest AI result."""

    @extend_schema(request=ReviewIn, responses={200: ReportOut})
    def post(self, request: Request, study_uid: str) -> Response:
        principal = principal_of(request)
        if principal.role != SIGNING_ROLE:
            _refuse(
                request, principal, "review-sign", 403, f"role {principal.role} may not sign",
                study_uid=study_uid[:64],
            )  # fmt: skip
            raise PermissionDenied("only radiologists sign AI results")
        body = ReviewIn(data=request.data)
        body.is_valid(raise_exception=True)
        study = study_for(request, study_uid, "review")
        job = selectors.latest_report_job(study=study)
        if job is None:
            _refuse(request, principal, "review-sign", 409, "no AI result", study_uid=study_uid)
            return Response({"detail": "this study has no AI result to review"}, status=409)
        try:
            review_services.sign(
                job=job,
                reviewer=principal.username,
                reviewer_id=principal.user_id,
                request=request._request,
                decision=body.validated_data["decision"],
                impression=body.validated_data["impression"],
                reason=body.validated_data.get("reason") or "",
            )
        except ReviewRefused as refused:
            _refuse(request, principal, "review-sign", 400, str(refused), study_uid=study_uid)
            raise ValidationError({"detail": str(refused)}) from refused
        return Response(report_of(study), status=status.HTTP_200_OK)


def _study_volumes(study: Study) -> tuple[dict[str, Any], trend.Point]:
    job = selectors.latest_report_job(study=study)
    row: dict[str, Any] = {
        "study_uid": study.study_uid,
        "orthanc_study_id": study.orthanc_study_id,
        "study_date": study.study_date,
        "study_description": study.study_description,
        "review_state": None,
        "signed": False,
        "volumes_source": None,
        "labels": [],
    }
    if job is None:
        return row, trend.Point(study.study_uid, None)
    facts = selectors.review_facts(job=job)
    volumes = {str(k): float(v) for k, v in reports.reviewed_volumes(job, facts).items()}
    known = labels.labels_for(job.model_id, job.model_version)
    row |= {
        "review_state": facts.state,
        "signed": facts.signed,
        "volumes_source": "edited_seg" if facts.seg is not None else "ai",
        "labels": [
            {"label": label, "snomed_code": info.snomed_code if info else None, "volume_ml": ml}
            for label, ml, info in reports.labelled_volumes(volumes, known)
        ],
    }
    return row, trend.Point(study.study_uid, volumes)


class PatientTumourVolumes(APIView):
    """``GET /api/patients/{patient_id}/tumour-volumes``: every study of the patient the caller
    may see, oldest first, with the reviewed volumes and the change against the previous study
    and the nadir. Clinicians: assigned patients only (403 otherwise, also for unknown ones)."""

    @extend_schema(responses={200: TumourVolumesOut})
    def get(self, request: Request, patient_id: str) -> Response:
        principal = principal_of(request)
        target = f"patient {patient_id}"[:300]
        if principal.patient_ids is not None and patient_id not in principal.patient_ids:
            _refuse(
                request, principal, "tumour-volumes", 403, "patient not assigned", target=target
            )
            raise PermissionDenied("patient not assigned to you")
        studies = list(selectors.patient_studies(patient_id=patient_id))
        if not studies and principal.sees_everything:
            _refuse(request, principal, "tumour-volumes", 404, "unknown patient", target=target)
            raise NotFound("unknown patient")
        audit.record_for(
            principal,
            request._request,
            action="tumour-volumes",
            allowed=True,
            target=target,
            status_code=200,
        )
        rows, points = (
            zip(*(_study_volumes(s) for s in studies), strict=True) if studies else ((), ())
        )
        for row, figures in zip(rows, trend.changes(points), strict=True):
            row.update(figures)
        patient = studies[0].patient if studies else None
        return Response(
            {
                "patient_id": patient_id,
                "patient_name": patient.patient_name if patient else "",
                "studies": list(rows),
            }
        )
