"""Wiring: authorised DICOMweb and WADO-URI; answers are empty X-Accel-Redirect responses.

Every identifier in a redirect comes from pacs.paths' validation, never from the raw URL.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import replace

from audit import services as audit
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_http_methods
from health.metrics import AUTHZ_DECISIONS, AUTHZ_SECONDS

from pacs import gateway, paths, query, search, wado_uri
from pacs.gateway import Refused
from pacs.orthanc import OrthancError
from pacs.query import QueryRefused

_SAFE = ["GET", "HEAD"]
_SEARCHES = {paths.Kind.SEARCH_STUDIES, paths.Kind.SEARCH_SERIES, paths.Kind.SEARCH_INSTANCES}
_SEARCH_TAILS = {"series", "instances"}


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


def _failed(request: HttpRequest, failure: Exception, target: str) -> HttpResponse:
    if isinstance(failure, Refused):
        return _refusal(request, failure, target)
    if isinstance(failure, audit.AuditUnavailable):  # fail closed: nothing unaudited is served
        return JsonResponse({"detail": str(failure.detail)}, status=503)
    return JsonResponse({"detail": "image archive unavailable"}, status=502)


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
        pairs = gateway.query_pairs(request)
        if target.kind in _SEARCHES:
            return search.respond(request, caller, target, pairs)
        gateway.check_study(request, caller, target.study_uid, f"dicom-web/{path}")
        if target.series_uid and not target.sop_uid:
            gateway.series_in_study(target.study_uid, target.series_uid)
        if target.kind is paths.Kind.FRAMES and not target.tail:
            return _frames(request, target, pairs)
        if target.tail == "thumbnail":
            return gateway.thumbnail(request, target)
        if target.sop_uid:
            gateway.instance(target.study_uid, target.series_uid, target.sop_uid)
        if target.tail in _SEARCH_TAILS and not target.sop_uid:
            pairs = search.validated(pairs).pairs  # QIDO inside an authorised study
        else:
            pairs = gateway.plain_keys(pairs)
        return gateway.accel(
            f"{gateway.INTERNAL}/dicom-web/{target.orthanc_path()}", gateway.orthanc_query(pairs)
        )
    except (Refused, OrthancError, audit.AuditUnavailable) as failure:
        return _failed(request, failure, f"dicom-web/{path}"[:300])


def _frames(
    request: HttpRequest, target: paths.Target, pairs: tuple[query.Pair, ...]
) -> HttpResponse:
    orthanc_id, transfer_syntax = gateway.instance(
        target.study_uid, target.series_uid, target.sop_uid
    )
    accept = str(request.META.get("HTTP_ACCEPT", ""))
    if not gateway.accepts_stored(accept, transfer_syntax):
        # Another transfer syntax (or the standard's default, Explicit VR Little Endian) is
        # Orthanc's to transcode, or to refuse.
        return gateway.accel(
            f"{gateway.INTERNAL}/dicom-web/{target.orthanc_path()}",
            gateway.orthanc_query(gateway.plain_keys(pairs)),
        )
    if len(target.frames) == 1 and gateway.wants_single_part(accept):
        return gateway.accel(
            f"{gateway.INTERNAL_RAW}/instances/{orthanc_id}/frames/{target.frames[0] - 1}/raw",
            content_type=f"application/octet-stream; transfer-syntax={transfer_syntax}",
        )
    # A standard multipart answer (DICOMweb clients, frame lists): built here from raw frames.
    boundary = uuid.uuid4().hex
    part_type = f"application/octet-stream; transfer-syntax={transfer_syntax}"
    chunks: list[bytes] = []
    public = f"{request.scheme}://{request.get_host()}/api/pacs/dicom-web/"
    for number in target.frames:
        data = gateway.orthanc().frame(orthanc_id, number - 1)
        location = public + replace(target, frames=(number,)).orthanc_path()
        chunks += [
            f"--{boundary}\r\nContent-Type: {part_type}\r\n"
            f"Content-Location: {location}\r\n\r\n".encode(),
            data,
            b"\r\n",
        ]
    chunks.append(f"--{boundary}--\r\n".encode())
    content_type = (
        f'multipart/related; type="application/octet-stream"; '
        f"transfer-syntax={transfer_syntax}; boundary={boundary}"
    )
    return HttpResponse(b"".join(chunks), content_type=content_type)


def _wado_query(request: HttpRequest) -> wado_uri.WadoUri:
    try:
        return wado_uri.validate(gateway.query_pairs(request))
    except QueryRefused as exc:
        raise Refused(400, str(exc)) from exc


@_measured
@require_http_methods(_SAFE)
def wado(request: HttpRequest) -> HttpResponse:
    try:
        wado = _wado_query(request)
        caller = gateway.authenticate(request)
        gateway.check_study(request, caller, wado.study_uid, f"wado {wado.sop_uid}")
        gateway.instance(wado.study_uid, wado.series_uid, wado.sop_uid)
        return gateway.accel(f"{gateway.INTERNAL}/wado", gateway.orthanc_query(wado.pairs))
    except (Refused, OrthancError, audit.AuditUnavailable) as failure:
        return _failed(request, failure, "wado")
