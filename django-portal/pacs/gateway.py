"""Wiring: the per-process state of the image gateway and the request-level steps it shares.

Authentication here bypasses DRF's request machinery on purpose (the frame path must stay cheap)
but makes exactly the API's token check (accounts.verifier, with its per-process caches); then
in-process caches for the principal, decision and resource lookups.

Every resource is resolved inside the exact study the StudyInstanceUID stands for (authz's
StudyRef): a series or instance is the Orthanc resource derived from that study's PatientID and
the UIDs, never whatever a bare UID lookup finds, so another patient's study that reuses the
UIDs is out of reach.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from accounts import verifier
from accounts.authentication import raw_token
from archive import client as archive
from archive.orthanc import OrthancNotFound
from audit import services as audit
from authz.identity import StudyRef
from authz.principal import Principal
from authz.ttl_cache import TTLCache
from authz.wiring import authoriser
from django.http import HttpRequest, HttpResponse
from rest_framework_simplejwt.tokens import AccessToken

from pacs import media, query
from pacs.media import FrameAnswer
from pacs.paths import Target

INTERNAL = "/internal-orthanc"
INTERNAL_RAW = "/internal-orthanc-raw"
# The same raw frames with byte ranges: nginx cuts Range requests out of Orthanc's whole answer.
INTERNAL_RANGES = "/internal-orthanc-ranges"
# Orthanc's /preview scaled by nginx's image filter (thumbnails).
INTERNAL_THUMBNAIL = "/internal-orthanc-thumbnail"
_QUERY_KEY = re.compile(r"\A[A-Za-z0-9_.]{1,64}\Z")
# OHIF's image loader (cornerstone) asks exactly this and reads a single-part answer; clients
# that quote the type parameter (DICOMweb clients) parse a real multipart body.
_CORNERSTONE_ACCEPT = re.compile(r"type=application/octet-stream;\s*transfer-syntax=\*")


class Refused(Exception):  # noqa: N818 - it is an answer, not a failure
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Caller:
    token: AccessToken
    principal: Principal

    @property
    def token_id(self) -> str:
        return str(self.token["jti"])


# Orthanc ids never change meaning, so positive existence checks are cached for long; misses
# are not. Studies only in the archive (not mirrored yet) are re-read after a few seconds.
_instances: TTLCache[tuple[str, str]] = TTLCache(600.0)
_series: TTLCache[bool] = TTLCache(600.0)
_archive_refs: TTLCache[StudyRef] = TTLCache(5.0)


def clear_caches() -> None:
    for cache in (_instances, _series, _archive_refs, _representatives, _dialects):
        cache.clear()
    authoriser().clear()


def authenticate(request: HttpRequest) -> Caller:
    """The caller, by the same access-token check as the API (accounts.verifier)."""
    token_text, _from_cookie = raw_token(request)
    if not token_text:
        raise Refused(401, "no token")
    try:
        verified = verifier.verify_access(token_text)
    except verifier.TokenRefused as refused:
        raise Refused(401, refused.reason) from refused
    principal = authoriser().principal(verified.user_id)
    if principal is None or not principal.active:
        raise Refused(401, "user inactive or gone")
    return Caller(token=verified.token, principal=principal)


def authorise(request: HttpRequest, caller: Caller, study_uid: str, target: str) -> StudyRef:
    """The exact study the caller may read under this UID; audited when decided afresh."""
    decision = authoriser().may_read(
        cache_key=caller.token_id, principal=caller.principal, study_uid=study_uid
    )
    if decision.fresh or not decision.allowed:
        try:
            audit.record(
                action="image-access",
                allowed=decision.allowed,
                request=request,
                user_id=caller.principal.user_id,
                username=caller.principal.username,
                target=target,
                study_uid=study_uid,
                status_code=200 if decision.allowed else 403,
                detail=decision.reason,
            )
        except audit.AuditUnavailable:
            authoriser().clear()  # an unaudited "allowed" must not be served from the cache
            raise
    if not decision.allowed:
        raise Refused(403, decision.reason)
    return decision.study or _archive_study(study_uid)


def _archive_study(study_uid: str) -> StudyRef:
    """For a caller who reads every study, one the portal has not mirrored yet: the archive's
    study with that UID, if there is exactly one (several: not reconciled yet, refused)."""
    hit = _archive_refs.get(study_uid)
    if hit is not None:
        return hit
    studies = archive.orthanc().studies_with_uid(study_uid)
    if not studies:
        raise Refused(404, "study not in the archive")
    if len(studies) > 1:
        raise Refused(409, "several patients' studies share this StudyInstanceUID")
    (orthanc_study_id, patient_id), *_ = studies
    ref = StudyRef(study_uid, patient_id, orthanc_study_id)
    _archive_refs.put(study_uid, ref)
    return ref


def series(ref: StudyRef, series_uid: str) -> str:
    """Orthanc id of that series of that exact study (404 when the study has no such series)."""
    orthanc_series_id = ref.series_id(series_uid)
    if _series.get(orthanc_series_id) is None:
        try:
            archive.orthanc().series_instances(orthanc_series_id)
        except OrthancNotFound as exc:
            raise Refused(404, "series not in study") from exc
        _series.put(orthanc_series_id, True)
    return orthanc_series_id


def instance(ref: StudyRef, series_uid: str, sop_uid: str) -> tuple[str, str]:
    """(Orthanc instance id, stored transfer syntax) of that instance of that exact study."""
    orthanc_id = ref.instance_id(series_uid, sop_uid)
    hit = _instances.get(orthanc_id)
    if hit is None:
        try:
            hit = (orthanc_id, archive.orthanc().transfer_syntax(orthanc_id))
        except OrthancNotFound as exc:
            raise Refused(404, "instance not in series/study") from exc
        _instances.put(orthanc_id, hit)
    return hit


# Series that are not pictures of the patient: never chosen for a study's thumbnail.
_NOT_IMAGES = frozenset({"SEG", "SR", "PR", "KO", "RTSTRUCT", "DOC", "REG", "RWV"})
_THUMBNAIL_SIZE = 128
_MAX_VIEWPORT = 1024
_VIEWPORT = re.compile(r"\A([1-9][0-9]{0,3}),([1-9][0-9]{0,3})\Z")
# A study's or series' representative instance changes only when instances arrive.
_representatives: TTLCache[str] = TTLCache(60.0)


def _middle(instances: list[str]) -> str | None:
    return instances[len(instances) // 2] if instances else None


def representative_instance(ref: StudyRef, target: Target) -> str:
    """Orthanc id of the instance that stands for the target in a thumbnail.

    Instance: itself. Series: its middle instance (in Orthanc's order). Study: the middle
    instance of its first image series (SEG, SR and other non-image series are passed over).
    """
    if target.sop_uid:
        return instance(ref, target.series_uid, target.sop_uid)[0]
    key = (ref.orthanc_study_id, target.series_uid)
    hit = _representatives.get(key)
    if hit is not None:
        return hit
    if target.series_uid:
        chosen = _middle(archive.orthanc().series_instances(series(ref, target.series_uid)))
    else:
        images = [
            s
            for s in archive.orthanc().study_series(ref.orthanc_study_id)
            if str((s.get("MainDicomTags") or {}).get("Modality", "")) not in _NOT_IMAGES
        ]
        chosen = next((m for s in images if (m := _middle(list(s.get("Instances") or [])))), None)
    if chosen is None:
        raise Refused(404, "no image to make a thumbnail of")
    _representatives.put(key, str(chosen))
    return str(chosen)


def thumbnail(request: HttpRequest, ref: StudyRef, target: Target) -> HttpResponse:
    """DICOMweb thumbnail of the representative instance, bounded by ``viewport=w,h`` (default
    128x128): Orthanc's ``/instances/{id}/preview`` (stretched over the image's own min..max, so
    a file without a VOI window still gives a picture; ``/rendered`` would map the whole stored
    bit depth and answer a black square), scaled by nginx. PNG, or JPEG when the client accepts
    only JPEG (Accept is passed on).
    """
    viewport = request.GET.get("viewport", "")
    width = height = _THUMBNAIL_SIZE
    if viewport:
        match = _VIEWPORT.match(viewport)
        if match is None:
            raise Refused(400, "bad viewport")
        width = min(int(match.group(1)), _MAX_VIEWPORT)
        height = min(int(match.group(2)), _MAX_VIEWPORT)
    orthanc_id = representative_instance(ref, target)
    return accel(
        f"{INTERNAL_THUMBNAIL}/instances/{orthanc_id}/preview",
        urlencode({"width": width, "height": height}),
    )


def query_pairs(request: HttpRequest) -> tuple[query.Pair, ...]:
    """The client's query string as (key, value) pairs, decoded strictly (400 if malformed)."""
    try:
        return query.parse(str(request.META.get("QUERY_STRING", "")))
    except query.QueryRefused as exc:
        raise Refused(400, str(exc)) from exc


def plain_keys(pairs: tuple[query.Pair, ...]) -> tuple[query.Pair, ...]:
    """Non-search routes (retrieve, metadata, rendered): any parameter, with a sane key."""
    if not all(_QUERY_KEY.match(key) for key, _ in pairs):
        raise Refused(400, "bad query parameter")
    return pairs


# Orthanc's way of reading query strings only changes with an upgrade: probed once in a while.
_dialects: TTLCache[query.Dialect] = TTLCache(600.0)


def orthanc_query(pairs: tuple[query.Pair, ...]) -> str:
    """The query string that makes Orthanc read ``pairs`` as the client meant them.

    Orthanc's dialect is only asked for when a character needs it (pacs.query).
    """
    dialect = query.Dialect.DECODED
    if query.needs_dialect(pairs):
        cached = _dialects.get("orthanc")
        dialect = cached if cached is not None else archive.orthanc().query_dialect()
        _dialects.put("orthanc", dialect)
    try:
        return query.encode(pairs, dialect)
    except query.Unrepresentable as exc:
        raise Refused(501, str(exc)) from exc


def accel(location: str, query: str = "", content_type: str | None = None) -> HttpResponse:
    response = HttpResponse(b"", content_type=content_type)
    response["X-Accel-Redirect"] = f"{location}?{query}" if query else location
    if content_type is None:
        del response["Content-Type"]  # let the redirected answer's own type through
    response["Cache-Control"] = "private, no-store"
    return response


def frame_answer(
    request: HttpRequest, pairs: tuple[query.Pair, ...], stored: str
) -> FrameAnswer | None:
    """How to answer frames stored in ``stored``: as stored (FrameAnswer), or None for Orthanc's
    own WADO-RS route (a transcoded answer, or its refusal). The ``accept`` query parameter, when
    present, stands for the Accept header (PS3.18 8.3.3.1)."""
    in_query = [value for key, value in pairs if key == "accept"]
    accept = ",".join(in_query) if in_query else str(request.META.get("HTTP_ACCEPT", ""))
    return media.negotiate(accept, stored, cornerstone=bool(_CORNERSTONE_ACCEPT.search(accept)))
