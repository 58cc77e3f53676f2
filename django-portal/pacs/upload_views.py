"""Wiring: POST /api/pacs/upload — multipart DICOM files or zips → per-file result."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from accounts import selectors as account_selectors
from audit import services as audit
from clinical import services as clinical_services
from django.conf import settings
from drf_spectacular.utils import extend_schema
from health.metrics import UPLOADS
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pacs import gateway, upload
from pacs.orthanc import OrthancError


class UploadIn(serializers.Serializer[dict[str, Any]]):
    files = serializers.ListField(child=serializers.FileField())


class FileResultOut(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=["stored", "duplicate", "rejected"])
    reason = serializers.CharField()
    study_uid = serializers.CharField()


class UploadOut(serializers.Serializer[dict[str, Any]]):
    results = FileResultOut(many=True)


class UploadView(APIView):
    parser_classes = (MultiPartParser,)

    @extend_schema(request={"multipart/form-data": UploadIn}, responses={200: UploadOut})
    def post(self, request: Request) -> Response:
        max_bytes = settings.CONFIG.upload_max_bytes
        if int(request.META.get("CONTENT_LENGTH") or 0) > max_bytes:
            return Response({"detail": "upload too large"}, status=413)
        principal = account_selectors.principal(user_id=int(request.user.pk or 0))
        if principal is None or not principal.active:
            raise PermissionDenied("inactive user")
        uploads = request.FILES.getlist("files")
        if not uploads:
            return Response({"detail": "no files"}, status=status.HTTP_400_BAD_REQUEST)
        files = ((str(f.name), f.read(max_bytes + 1)) for f in uploads)
        results = upload.store_all(
            orthanc=gateway.orthanc(), principal=principal, files=files, max_bytes=max_bytes
        )
        for orthanc_study_id in sorted({r.orthanc_study_id for r in results if r.orthanc_study_id}):
            # Mirror now so the uploader (a clinician) can view it before it is stable; if
            # Orthanc hiccups here, the study_stable task catches up.
            with suppress(OrthancError):
                clinical_services.sync_study(
                    orthanc=gateway.orthanc(), orthanc_study_id=orthanc_study_id
                )
        for result in results:
            UPLOADS.labels(result.status).inc()
        stored = sum(r.status != "rejected" for r in results)
        audit.record(
            action="upload",
            allowed=stored > 0,
            request=request._request,
            user_id=principal.user_id,
            username=principal.username,
            study_uid=next((r.study_uid for r in results if r.study_uid), ""),
            status_code=200,
            detail=f"{stored}/{len(results)} stored or duplicate",
        )
        body = [
            {"name": r.name, "status": r.status, "reason": r.reason, "study_uid": r.study_uid}
            for r in results
        ]
        return Response({"results": body})
