"""Wiring: GET /api/audit/export (admins only) — the audit log as CSV, optionally filtered."""

from __future__ import annotations

from authz.drf import principal_of
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.views import APIView

from audit.admin import write_csv
from audit.models import AuditEvent


class AuditExport(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("study_uid", str, required=False),
            OpenApiParameter("username", str, required=False),
        ],
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request: Request) -> HttpResponse:
        if not principal_of(request).is_admin:
            raise PermissionDenied("admins only")
        events = AuditEvent.objects.all()
        if study_uid := request.query_params.get("study_uid"):
            events = events.filter(study_uid=study_uid[:64])
        if username := request.query_params.get("username"):
            events = events.filter(username=username[:150])
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="audit.csv"'
        return write_csv(events[:100_000], response)
