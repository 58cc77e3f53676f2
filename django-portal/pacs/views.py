"""Wiring: authorised DICOMweb and WADO-URI; answers are empty X-Accel-Redirect responses.

Every identifier in a redirect comes from pacs.paths' validation, never from the raw URL, and
every resource is the one of the exact study the StudyInstanceUID stands for (pacs.lookup).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import replace

from archive import client as archive
from archive.orthanc import OrthancError
from audit import services as audit
from authz.identity import StudyRef
from clinical import selectors as clinical_selectors
from common.metrics import AUTHZ_DECISIONS, AUTHZ_SECONDS
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_http_methods

from pacs import accel, compose, gateway, lookup, media, metadata, paths, search, wado_uri
from pacs.query import Pair, QueryRefused
from pacs.refusal import Refused

_SAFE = ["GET", "HEAD"]
_SEARCHES = {paths.Kind.SEARCH_STUDIES, paths.Kind.SEARCH_SERIES, paths.Kind.SEARCH_INSTANCES}
_SEARCH_TAILS = {"series", "instances"}
DICOMWEB_ROOT = "/api/pacs/dicom-web"
# A WADO-URI asking exactly for the stored file: answered from that exact instance by its id.
_WADO_FILE_KEYS = {"requestType", "studyUID", "seriesUID", "objectUID", "contentType"}


def _measured(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Count each image request as allow/deny and time Django's part of it."""

    def wrapper(request: HttpRequest, *args: str, **kwargs: str) -> HttpResponseBase:
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
def dicomweb(request: HttpRequest, path: str) -> HttpResponseBase:
    try:
        target = _target(request, path)
        caller = gateway.authenticate(request)
        pairs = gateway.query_pairs(request)
        if target.kind in _SEARCHES:
            return search.respond(request, caller, target, pairs)
        ref = gateway.authorise(request, caller, target.study_uid, f"dicom-web/{path}")
        return _in_study(request, ref, target, pairs)
    except (Refused, OrthancError, audit.AuditUnavailable) as failure:
        return _failed(request, failure, f"dicom-web/{path}"[:300])


def _in_study(
    request: HttpRequest, ref: StudyRef, target: paths.Target, pairs: tuple[Pair, ...]
) -> HttpResponseBase:
    """Anything under one study, once the caller may read the study the UID stands for."""
    if target.sop_uid:
        lookup.instance(ref, target.series_uid, target.sop_uid)
    elif target.series_uid:
        lookup.series(ref, target.series_uid)
    if target.kind is paths.Kind.FRAMES and not target.tail:
        return _frames(request, ref, target, pairs)
    if target.tail == "thumbnail":
        size = accel.thumbnail_size(request.GET.get("viewport", ""))
        return accel.thumbnail(lookup.representative_instance(ref, target), size)
    if target.tail in _SEARCH_TAILS and not target.sop_uid:
        return search.in_study(ref, target, pairs)  # QIDO inside the owner's study
    if target.tail == "metadata" and not target.sop_uid and metadata.cacheable(request, pairs):
        return _cached_metadata(request, ref, target)
    if target.tail in ("", "metadata") and _shared(ref, target):
        return _composed(ref, target)
    return accel.accel(
        f"{accel.INTERNAL}/dicom-web/{target.orthanc_path()}",
        lookup.orthanc_query(gateway.plain_keys(pairs)),
    )


def _cached_metadata(request: HttpRequest, ref: StudyRef, target: paths.Target) -> HttpResponse:
    """A series' or the study's JSON metadata from the shared cache (pacs.metadata)."""
    shared = _shared(ref, target)
    if target.series_uid:
        return metadata.series(
            request, ref, target.series_uid, shared=shared, bulk_root=DICOMWEB_ROOT
        )
    return metadata.study(request, ref, shared=shared, bulk_root=DICOMWEB_ROOT)


def _shared(ref: StudyRef, target: paths.Target) -> bool:
    """Whether Orthanc's UID lookups at this level are ambiguous (another patient's study
    reuses the study UID, or for a series or instance, also that series UID)."""
    if target.series_uid:
        return target.series_uid in clinical_selectors.conflicting_series_uids(
            study_uid=ref.study_uid
        )
    return clinical_selectors.has_conflicts(study_uid=ref.study_uid)


def _composed(ref: StudyRef, target: paths.Target) -> HttpResponseBase:
    orthanc = archive.orthanc()
    ids = compose.instance_ids(orthanc, ref, target.series_uid, target.sop_uid)
    if target.tail == "metadata":
        body = compose.metadata(orthanc, ids, DICOMWEB_ROOT)
        return HttpResponse(body, content_type="application/dicom+json")
    parts, content_type = compose.multipart_files(orthanc, ids)
    return StreamingHttpResponse(parts, content_type=content_type)


def _frames(
    request: HttpRequest, ref: StudyRef, target: paths.Target, pairs: tuple[Pair, ...]
) -> HttpResponse:
    orthanc_id, transfer_syntax = lookup.instance(ref, target.series_uid, target.sop_uid)
    answer = accel.frame_answer(request, pairs, transfer_syntax)
    if answer is None:
        # Another transfer syntax (or the standard's default, Explicit VR Little Endian) is
        # Orthanc's to transcode, or to refuse (by UID: where another patient's study shares
        # them, Orthanc's DICOMweb answers 404, never the other study's frames).
        return accel.accel(
            f"{accel.INTERNAL}/dicom-web/{target.orthanc_path()}",
            lookup.orthanc_query(gateway.plain_keys(pairs)),
        )
    if len(target.frames) == 1 and answer.single_part:
        # Byte ranges only where a prefix of the frame is an image (RPCL HTJ2K): for any other
        # syntax a client's first range would not decode, so Range is ignored there (RFC 9110
        # lets a server answer 200 with the whole frame) and a range-fetching viewer such as
        # cornerstone gets the frame in one request.
        ranged = transfer_syntax in media.PROGRESSIVE
        location = accel.INTERNAL_RANGES if ranged else accel.INTERNAL_RAW
        return accel.accel(
            f"{location}/instances/{orthanc_id}/frames/{target.frames[0] - 1}/raw",
            content_type=answer.content_type,
        )
    # A standard multipart answer (DICOMweb clients, frame lists): built here from raw frames.
    boundary = uuid.uuid4().hex
    chunks: list[bytes] = []
    public = f"{request.scheme}://{request.get_host()}/api/pacs/dicom-web/"
    for number in target.frames:
        data = archive.orthanc().frame(orthanc_id, number - 1)
        location = public + replace(target, frames=(number,)).orthanc_path()
        chunks += [
            f"--{boundary}\r\nContent-Type: {answer.content_type}\r\n"
            f"Content-Location: {location}\r\n\r\n".encode(),
            data,
            b"\r\n",
        ]
    chunks.append(f"--{boundary}--\r\n".encode())
    media_type, _, syntax = answer.content_type.partition("; ")
    content_type = f'multipart/related; type="{media_type}"; {syntax}; boundary={boundary}'
    return HttpResponse(b"".join(chunks), content_type=content_type)


def _wado_query(request: HttpRequest) -> wado_uri.WadoUri:
    try:
        return wado_uri.validate(gateway.query_pairs(request))
    except QueryRefused as exc:
        raise Refused(400, str(exc)) from exc


@_measured
@require_http_methods(_SAFE)
def wado(request: HttpRequest) -> HttpResponseBase:
    try:
        wado = _wado_query(request)
        caller = gateway.authenticate(request)
        ref = gateway.authorise(request, caller, wado.study_uid, f"wado {wado.sop_uid}")
        orthanc_id, _ = lookup.instance(ref, wado.series_uid, wado.sop_uid)
        asked = dict(wado.pairs)
        if set(asked) == _WADO_FILE_KEYS and asked["contentType"] == "application/dicom":
            # The stored file of that exact instance (Orthanc's WADO-URI finds it by UID).
            return accel.accel(f"{accel.INTERNAL}/instances/{orthanc_id}/file")
        return accel.accel(f"{accel.INTERNAL}/wado", lookup.orthanc_query(wado.pairs))
    except (Refused, OrthancError, audit.AuditUnavailable) as failure:
        return _failed(request, failure, "wado")
