"""Wiring: POST /api/pacs/upload — multipart DICOM files or zips → per-file result.

- At most PORTAL_UPLOAD_CONCURRENCY uploads run in one process; the next one is told to retry
  (429) before its body is read.
- The upload is audited before anything is stored (no audit, no upload: 503), and afterwards
  per study stored and for what was refused, whatever happened in between: what reached the
  archive is always mirrored, counted and audited, even if storing stopped half-way.
- Files arrive on disk (pacs.upload_handlers) and are streamed from there (pacs.upload).
"""

from __future__ import annotations

import threading
from collections import Counter
from contextlib import suppress
from functools import cache
from typing import Any

from archive import client as archive
from archive.orthanc import OrthancError
from audit import services as audit
from authz.drf import principal_of
from authz.principal import Principal
from clinical import selectors as clinical_selectors
from clinical import services as clinical_services
from common.metrics import UPLOADS
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pacs import upload, upload_handlers

RETRY_AFTER_S = 5


class UploadIn(serializers.Serializer[dict[str, Any]]):
    files = serializers.ListField(child=serializers.FileField())


class FileResultOut(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=["stored", "duplicate", "rejected"])
    reason = serializers.CharField()
    study_uid = serializers.CharField()


class UploadOut(serializers.Serializer[dict[str, Any]]):
    results = FileResultOut(many=True)


@cache
def slots() -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(settings.CONFIG.security.upload_concurrency)


def _busy(request: HttpRequest) -> JsonResponse:
    UPLOADS.labels("busy").inc()
    audit.record(
        action="upload",
        allowed=False,
        request=request,
        status_code=429,
        detail="PORTAL_UPLOAD_CONCURRENCY reached",
    )
    response = JsonResponse({"detail": "too many uploads in progress; retry shortly"}, status=429)
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _record(request: Request, principal: Principal, results: list[upload.FileResult]) -> None:
    """Mirror, count and audit what the upload did (best effort: it has happened already)."""
    for orthanc_study_id in sorted({r.orthanc_study_id for r in results if r.orthanc_study_id}):
        # Mirror now so the uploader (a clinician) can view it before it is stable; if
        # Orthanc hiccups here, the study_stable task catches up.
        with suppress(OrthancError):
            clinical_services.sync_study(
                orthanc=archive.orthanc(), orthanc_study_id=orthanc_study_id
            )
    for result in results:
        UPLOADS.labels(result.status).inc()
    kept = [r for r in results if r.status != "rejected"]
    for study_uid, count in sorted(Counter(r.study_uid for r in kept).items()):
        audit.record_for(
            principal, request._request, required=False,
            action="upload", allowed=True, study_uid=study_uid, status_code=200,
            detail=f"{count} file(s) stored or already stored",
        )  # fmt: skip
    for conflict in (r for r in results if r.reason == upload.CONFLICT_REASON):
        audit.record_for(
            principal, request._request, required=False,
            action="study-conflict", allowed=False, status_code=200,
            target=conflict.name[:300], study_uid=conflict.study_uid,
            detail="upload refused: the StudyInstanceUID is another patient's study",
        )  # fmt: skip
    refused = [r for r in results if r.status == "rejected"]
    if refused:
        reasons = sorted({r.reason for r in refused})
        audit.record_for(
            principal, request._request, required=False,
            action="upload", allowed=False, status_code=200,
            detail=f"{len(refused)} file(s) refused: {'; '.join(reasons)}",
        )  # fmt: skip


def _owner_patient(study_uid: str) -> str | None:
    ref = clinical_selectors.study_ref(study_uid=study_uid)
    return ref.patient_id if ref is not None else None


class UploadView(APIView):
    parser_classes = (MultiPartParser,)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:  # noqa: ANN401
        if not slots().acquire(blocking=False):
            return _busy(request)
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            slots().release()

    @extend_schema(request={"multipart/form-data": UploadIn}, responses={200: UploadOut})
    def post(self, request: Request) -> Response:
        config = settings.CONFIG
        if int(request.META.get("CONTENT_LENGTH") or 0) > config.upload_max_bytes:
            return Response({"detail": "upload too large"}, status=413)
        principal = principal_of(request)
        audit.record_for(
            principal,
            request._request,
            action="upload",
            allowed=True,
            detail="started",
        )  # fails closed: nothing is stored unaudited
        uploads = request.FILES.getlist("files")
        if upload_handlers.too_large(request._request):
            return Response({"detail": "upload too large"}, status=413)
        if not uploads:
            return Response({"detail": "no files"}, status=status.HTTP_400_BAD_REQUEST)
        limits = upload.Limits(
            temp_dir=str(settings.FILE_UPLOAD_TEMP_DIR),
            max_expanded_bytes=config.upload_max_bytes,
            max_zip_ratio=config.security.upload_max_zip_ratio,
        )
        results: list[upload.FileResult] = []
        try:
            upload.store_all(
                orthanc=archive.orthanc(),
                principal=principal,
                owner_of=_owner_patient,
                files=((str(f.name), f.file) for f in uploads),
                limits=limits,
                results=results,
            )
        finally:
            _record(request, principal, results)
        body = [
            {"name": r.name, "status": r.status, "reason": r.reason, "study_uid": r.study_uid}
            for r in results
        ]
        return Response({"results": body})
