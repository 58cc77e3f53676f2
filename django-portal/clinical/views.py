"""Wiring: studies worklist, study detail, AI report, job history, re-analysis, patients."""

from __future__ import annotations

import logging
from typing import NoReturn

from accounts.throttling import ReanalyzeRateThrottle
from archive import client as archive
from archive.orthanc import OrthancError
from audit import services as audit
from authz.drf import OrdersReanalysis, credential_key, principal_of
from authz.wiring import authoriser
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinical import labels, reports, selectors, services
from clinical.models import Patient, Study
from clinical.serializers import (
    JobRow,
    PatientRow,
    ReanalyzeOut,
    ReportOut,
    SeriesRow,
    StudyDetailOut,
    StudyRow,
)

log = logging.getLogger(__name__)


class Page(PageNumberPagination):
    page_size = 25
    max_page_size = 200
    page_size_query_param = "page_size"


def study_for(request: Request, study_uid: str, action: str) -> Study:
    """The study the UID stands for, if the caller may read it; 403 for clinicians either way
    (no existence leak)."""
    principal = principal_of(request)
    decision = authoriser().may_read(
        cache_key=credential_key(request), principal=principal, study_uid=study_uid
    )
    study = None
    if decision.allowed and decision.study is not None:
        study = (
            selectors.visible_studies(patient_ids=None)
            .filter(orthanc_study_id=decision.study.orthanc_study_id)
            .first()
        )
    audit.record_for(
        principal,
        request._request,
        action=action,
        allowed=study is not None,
        study_uid=study_uid[:64],
        status_code=200 if study is not None else (404 if principal.sees_everything else 403),
        detail=decision.reason,
    )
    if study is None:
        if principal.sees_everything:
            raise NotFound("unknown study")
        raise PermissionDenied("study not visible to you")
    return study


def report_of(study: Study) -> dict[str, object]:
    latest_done = selectors.latest_report_job(study=study)
    return reports.report_body(
        latest=selectors.jobs_of(study=study).first(),
        latest_done=latest_done,
        labels_of=labels.labels_for,
        review=selectors.review_facts(job=latest_done) if latest_done else None,
    )


class StudyList(generics.ListAPIView[Study]):
    serializer_class = StudyRow
    pagination_class = Page

    @extend_schema(
        parameters=[
            OpenApiParameter("search", str, required=False),
            OpenApiParameter("ai_status", str, required=False),
        ]
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Study]:
        principal = principal_of(self.request)
        return selectors.visible_studies(
            patient_ids=principal.patient_ids,
            search=self.request.query_params.get("search", "")[:100],
            ai_status=self.request.query_params.get("ai_status", "")[:16],
        )


class StudyDetail(APIView):
    @extend_schema(responses={200: StudyDetailOut})
    def get(self, request: Request, study_uid: str) -> Response:
        study = study_for(request, study_uid, "study-detail")
        return Response(
            {
                "study": StudyRow(study).data,
                "series": SeriesRow(selectors.study_series(study=study), many=True).data,
                "report": report_of(study),
                "jobs": JobRow(selectors.jobs_of(study=study), many=True).data,
            }
        )


class StudyReport(APIView):
    @extend_schema(responses={200: ReportOut})
    def get(self, request: Request, study_uid: str) -> Response:
        return Response(report_of(study_for(request, study_uid, "report")))


class StudyJobs(APIView):
    @extend_schema(responses={200: JobRow(many=True)})
    def get(self, request: Request, study_uid: str) -> Response:
        study = study_for(request, study_uid, "jobs")
        return Response(JobRow(selectors.jobs_of(study=study), many=True).data)


class Reanalyze(APIView):
    """Radiologists and admins; at most PORTAL_REANALYZE_RATE per study, whoever asks."""

    permission_classes = (IsAuthenticated, OrdersReanalysis)
    throttle_classes = (ReanalyzeRateThrottle,)

    def permission_denied(
        self, request: Request, message: str | None = None, code: str | None = None
    ) -> NoReturn:
        if request.user and request.user.is_authenticated:
            _audit_refusal(
                request, self.kwargs.get("study_uid", ""), 403, "role may not re-analyse"
            )
        super().permission_denied(request, message, code)

    def throttled(self, request: Request, wait: float) -> NoReturn:
        _audit_refusal(request, self.kwargs.get("study_uid", ""), 429, "PORTAL_REANALYZE_RATE")
        super().throttled(request, wait)

    @extend_schema(request=None, responses={202: ReanalyzeOut})
    def post(self, request: Request, study_uid: str) -> Response:
        study = study_for(request, study_uid, "reanalyze")
        requested_at = timezone.now()
        try:
            answer = services.request_reanalysis(
                orthanc=archive.orthanc(), orthanc_id=study.orthanc_study_id
            )
        except OrthancError:
            # Orthanc's message names internal routes: it goes to the log, not to the client
            log.exception("re-analysis of %s failed", study_uid)
            return Response(
                {"detail": "the archive could not queue a re-analysis"},
                status=status.HTTP_502_BAD_GATEWAY,
            )
        job = services.record_requested_job(
            orthanc=archive.orthanc(), study=study, answer=answer, requested_at=requested_at
        )
        if job is None:
            return Response(
                {"detail": "the archive queued no job", "plugin": answer},
                status=status.HTTP_502_BAD_GATEWAY,
            )
        body = {**JobRow(job).data, "status": job.state, "plugin": answer}
        return Response(body, status=status.HTTP_202_ACCEPTED)


def _audit_refusal(request: Request, study_uid: str, code: int, reason: str) -> None:
    audit.record(
        action="reanalyze",
        allowed=False,
        request=request._request,
        user_id=request.user.pk,
        username=request.user.get_username(),
        study_uid=str(study_uid)[:64],
        status_code=code,
        detail=reason,
    )


class PatientList(generics.ListAPIView[Patient]):
    serializer_class = PatientRow
    pagination_class = Page

    def get_queryset(self) -> QuerySet[Patient]:
        principal = principal_of(self.request)
        patients = Patient.objects.order_by("patient_id")
        if principal.patient_ids is not None:
            patients = patients.filter(patient_id__in=sorted(principal.patient_ids))
        return patients
