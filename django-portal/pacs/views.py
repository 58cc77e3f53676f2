"""Wiring: authorised DICOMweb and WADO-URI; answers are empty X-Accel-Redirect responses.

Every identifier in a redirect comes from pacs.paths' validation, never from the raw URL.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from audit import services as audit
from clinical import selectors as clinical_selectors
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_http_methods
from health.metrics import AUTHZ_DECISIONS, AUTHZ_SECONDS

from pacs import gateway, paths
from pacs.gateway import Caller, Refused
from pacs.orthanc import OrthancError

_SAFE = ["GET", "HEAD"]
_WADO_CONTENT_TYPES = {"application/dicom", "image/jpeg", "image/png"}
MAX_PATIENT_QUERIES = 100
_SEARCHES = {paths.Kind.SEARCH_STUDIES, paths.Kind.SEARCH_SERIES, paths.Kind.SEARCH_INSTANCES}


def _measured(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Count each image request as allow/deny and time Django's part of it."""

    def wrapper(request: HttpRequest, *args: str, **kwargs: str) -> HttpResponse:
        started = time.perf_counter()
        response = view(request, *args, **kwargs)
        AUTHZ_SECONDS.observe(time.perf_counter() - started)
        if response.status_code < 400:
            AUTHZ_DECISIONS.labels("allow").inc()
        elif response.status_code < 500:
            AUTHZ_DECISIONS.labels("deny").inc()
        return response

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _refusal(request: HttpRequest, refused: Refused, target: str) -> HttpResponse:
    if refused.status in (400, 401):
        audit.record(
            action="image-access",
            allowed=False,
            request=request,
            target=target,
            status_code=refused.status,
            detail=refused.reason,
        )
    response = JsonResponse({"detail": refused.reason}, status=refused.status)
    if refused.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="pacs"'
    return response


def _target(request: HttpRequest, path: str) -> paths.Target:
    # DICOMweb paths never need percent-encoding; an encoded slash or dot is a trick. gunicorn
    # hands over the undecoded request line as RAW_URI.
    raw = str(request.META.get("RAW_URI") or request.META.get("REQUEST_URI") or "")
    if "%" in raw.split("?", 1)[0]:
        raise Refused(400, "percent-encoded path")
    try:
        return paths.parse(path)
    except paths.PathRefused as exc:
        raise Refused(400, str(exc)) from exc


@_measured
@require_http_methods(_SAFE)
def dicomweb(request: HttpRequest, path: str) -> HttpResponse:
    try:
        target = _target(request, path)
        caller = gateway.authenticate(request)
        query = gateway.clean_query(request)
        if target.kind in _SEARCHES:
            return _search(request, caller, target, query)
        gateway.check_study(request, caller, target.study_uid, f"dicom-web/{path}")
        if target.series_uid and not target.sop_uid:
            gateway.series_in_study(target.study_uid, target.series_uid)
        if target.kind is paths.Kind.FRAMES:
            return _frames(request, target)
        if target.tail == "thumbnail":
            return gateway.thumbnail(request, target)
        if target.sop_uid:
            gateway.instance(target.study_uid, target.series_uid, target.sop_uid)
        return gateway.accel(f"{gateway.INTERNAL}/dicom-web/{target.orthanc_path()}", query)
    except Refused as refused:
        return _refusal(request, refused, f"dicom-web/{path}"[:300])
    except OrthancError:
        return JsonResponse({"detail": "image archive unavailable"}, status=502)


def _search(request: HttpRequest, caller: Caller, target: paths.Target, query: str) -> HttpResponse:
    principal = caller.principal
    audit.record(
        action="image-search",
        allowed=True,
        request=request,
        user_id=principal.user_id,
        username=principal.username,
        target=f"{target.orthanc_path()}?{query}"[:300],
        status_code=200,
        detail="all studies" if principal.sees_everything else "filtered to assigned patients",
    )
    if principal.sees_everything:
        return gateway.accel(f"{gateway.INTERNAL}/dicom-web/{target.orthanc_path()}", query)
    return _filtered_search(request, principal.patient_ids or frozenset(), target)


def _filtered_search(
    request: HttpRequest, patient_ids: frozenset[str], target: paths.Target
) -> HttpResponse:
    """QIDO for a clinician: ask Orthanc, keep only rows of studies of assigned patients.

    limit/offset apply after filtering, so a page is never short because of hidden rows.
    """
    allowed = clinical_selectors.study_uids_for_patients(patient_ids=patient_ids)
    params = [(k, v) for k, vs in request.GET.lists() for v in vs if k not in {"limit", "offset"}]
    limit = _int_param(request, "limit", 1000)
    offset = _int_param(request, "offset", 0)
    if not allowed:
        return JsonResponse([], safe=False, content_type="application/dicom+json")
    # One Orthanc query per assigned patient keeps the work proportional to what the clinician
    # may see, not to the archive; rows are still filtered by study UID (a PatientID with QIDO
    # wildcards cannot widen the answer).
    own_patient_filter = any(k == "PatientID" for k, _ in params)
    if own_patient_filter or len(patient_ids) > MAX_PATIENT_QUERIES:
        queries = [params]
    else:
        queries = [[*params, ("PatientID", pid)] for pid in sorted(patient_ids)]
    visible: list[dict[str, Any]] = []
    seen: set[str] = set()  # one row once, even if two patient queries both return it
    for query in queries:
        answer = gateway.orthanc().qido(
            target.orthanc_path(), urlencode(query), "application/dicom+json"
        )
        if answer.status_code >= 400:
            return JsonResponse([], safe=False, status=answer.status_code)
        rows: list[dict[str, Any]] = answer.json() if answer.content else []
        for row in rows:
            key = json.dumps(row, sort_keys=True)
            if _study_uid_of(row) in allowed and key not in seen:
                seen.add(key)
                visible.append(row)
    return HttpResponse(
        json.dumps(visible[offset : offset + limit]), content_type="application/dicom+json"
    )


def _int_param(request: HttpRequest, name: str, default: int) -> int:
    text = request.GET.get(name, "")
    if not text:
        return default
    if not text.isdigit() or len(text) > 7:
        raise Refused(400, f"bad {name}")
    return int(text)


def _study_uid_of(row: dict[str, Any]) -> str:
    values = (row.get("0020000D") or {}).get("Value") or [""]
    return str(values[0])


def _frames(request: HttpRequest, target: paths.Target) -> HttpResponse:
    orthanc_id, transfer_syntax = gateway.instance(
        target.study_uid, target.series_uid, target.sop_uid
    )
    accept = str(request.META.get("HTTP_ACCEPT", ""))
    if len(target.frames) == 1 and gateway.wants_single_part(accept):
        return gateway.accel(
            f"{gateway.INTERNAL_RAW}/instances/{orthanc_id}/frames/{target.frames[0] - 1}/raw",
            content_type=f"application/octet-stream; transfer-syntax={transfer_syntax}",
        )
    # A standard multipart answer (DICOMweb clients, frame lists): built here from raw frames.
    boundary = uuid.uuid4().hex
    part_type = f"application/octet-stream; transfer-syntax={transfer_syntax}"
    chunks: list[bytes] = []
    for number in target.frames:
        data = gateway.orthanc().frame(orthanc_id, number - 1)
        chunks += [
            f"--{boundary}\r\nContent-Type: {part_type}\r\n\r\n".encode(),
            data,
            b"\r\n",
        ]
    chunks.append(f"--{boundary}--\r\n".encode())
    content_type = (
        f'multipart/related; type="application/octet-stream"; '
        f"transfer-syntax={transfer_syntax}; boundary={boundary}"
    )
    return HttpResponse(b"".join(chunks), content_type=content_type)


def _wado_query(request: HttpRequest) -> tuple[paths.WadoUri, str, str]:
    try:
        wado_uri = paths.parse_wado_uri(dict(request.GET.lists()))
    except paths.PathRefused as exc:
        raise Refused(400, str(exc)) from exc
    content_type = request.GET.get("contentType", "application/dicom")
    if content_type not in _WADO_CONTENT_TYPES:
        raise Refused(400, "unsupported contentType")
    transfer_syntax = request.GET.get("transferSyntax", "")
    if transfer_syntax and not paths.is_uid(transfer_syntax):
        raise Refused(400, "bad transferSyntax")
    return wado_uri, content_type, transfer_syntax


@_measured
@require_http_methods(_SAFE)
def wado(request: HttpRequest) -> HttpResponse:
    try:
        wado_uri, content_type, transfer_syntax = _wado_query(request)
        caller = gateway.authenticate(request)
        gateway.check_study(request, caller, wado_uri.study_uid, f"wado {wado_uri.sop_uid}")
        gateway.instance(wado_uri.study_uid, wado_uri.series_uid, wado_uri.sop_uid)
        query = [
            ("requestType", "WADO"),
            ("studyUID", wado_uri.study_uid),
            ("seriesUID", wado_uri.series_uid),
            ("objectUID", wado_uri.sop_uid),
            ("contentType", content_type),
        ]
        if transfer_syntax:
            query.append(("transferSyntax", transfer_syntax))
        # Orthanc's WADO-URI does not decode %2F in contentType: keep "/" literal (the values
        # are from a fixed list and validated UIDs, so nothing else needs escaping).
        return gateway.accel(f"{gateway.INTERNAL}/wado", urlencode(query, safe="/"))
    except Refused as refused:
        return _refusal(request, refused, "wado")
    except OrthancError:
        return JsonResponse({"detail": "image archive unavailable"}, status=502)
