"""Wiring: the admins' view of StudyInstanceUID conflicts (docs/portal.md).

``GET /api/conflicts`` lists studies whose UID another patient's study claimed first (newest
first; ``?open=1`` for the unreviewed ones only); ``POST /api/conflicts/{orthanc_study_id}/review``
marks one reviewed (it stays hidden from clinicians and stops counting in the alert).
"""

from __future__ import annotations

from typing import Any

from audit import services as audit
from authz.drf import principal_of
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinical import selectors, services
from clinical.models import Study


class ConflictOwner(serializers.Serializer[dict[str, Any]]):
    orthanc_study_id = serializers.CharField()
    patient_id = serializers.CharField(source="patient.patient_id")
    patient_name = serializers.CharField(source="patient.patient_name")


class ConflictRow(serializers.ModelSerializer[Study]):
    patient_id = serializers.CharField(source="patient.patient_id")
    patient_name = serializers.CharField(source="patient.patient_name")
    owner = ConflictOwner(source="conflict_with", allow_null=True)

    class Meta:
        model = Study
        fields = (
            "orthanc_study_id",
            "study_uid",
            "patient_id",
            "patient_name",
            "study_date",
            "study_description",
            "modalities",
            "series_count",
            "conflict_since",
            "conflict_reviewed_at",
            "owner",
        )


class Page(PageNumberPagination):
    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"


def _admin(request: Request, action: str) -> str:
    principal = principal_of(request)
    audit.record_for(
        principal,
        request._request,
        action=action,
        allowed=principal.is_admin,
        status_code=200 if principal.is_admin else 403,
    )
    if not principal.is_admin:
        raise PermissionDenied("for admins only")
    return principal.username


class ConflictList(generics.ListAPIView[Study]):
    serializer_class = ConflictRow
    pagination_class = Page

    @extend_schema(parameters=[OpenApiParameter("open", bool, required=False)])
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        _admin(request, "conflicts-list")
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:  # noqa: ANN401 - DRF's QuerySet typing
        unreviewed = self.request.query_params.get("open", "") in {"1", "true"}
        return selectors.conflicts(unreviewed_only=unreviewed)


class ConflictReview(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request, orthanc_study_id: str) -> Response:
        reviewer = _admin(request, "conflict-review")
        study = selectors.study_by_orthanc_id(orthanc_study_id=orthanc_study_id)
        if study is None or not study.is_conflict:
            raise NotFound("no such conflict")
        services.review_conflict(study=study, reviewer=reviewer)
        return Response(status=204)
