"""Wiring: the per-process objects of the image gateway and the request-level steps it shares.

Authentication here bypasses DRF's request machinery on purpose (the frame path must stay cheap)
but makes exactly the API's token check (accounts.verifier, with its per-process caches); then
in-process caches for the principal, decision and instance lookups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlencode

from accounts import selectors as account_selectors
from accounts import verifier
from accounts.authentication import raw_token
from audit import services as audit
from clinical import selectors as clinical_selectors
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from rest_framework_simplejwt.tokens import AccessToken

from pacs import query
from pacs.access import Authoriser, Principal
from pacs.orthanc import OrthancClient
from pacs.paths import Target
from pacs.ttl_cache import TTLCache

INTERNAL = "/internal-orthanc"
INTERNAL_RAW = "/internal-orthanc-raw"
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


@cache
def authoriser() -> Authoriser:
    return Authoriser(
        ttl_s=settings.CONFIG.decision_cache_seconds,
        load_principal=lambda user_id: account_selectors.principal(user_id=user_id),
        patient_of_study=lambda uid: clinical_selectors.patient_id_for_study(study_uid=uid),
    )


@cache
def orthanc() -> OrthancClient:
    config = settings.CONFIG
    return OrthancClient(config.orthanc_url, config.orthanc_username, config.orthanc_password)


# UIDs never change meaning, so positive hierarchy lookups are cached for long; misses are not.
_instances: TTLCache[tuple[str, str]] = TTLCache(600.0)
_series: TTLCache[str] = TTLCache(600.0)


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


def check_study(request: HttpRequest, caller: Caller, study_uid: str, target: str) -> None:
    decision = authoriser().may_read(
        token_id=caller.token_id, principal=caller.principal, study_uid=study_uid
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


def series_in_study(study_uid: str, series_uid: str) -> str:
    """Orthanc id of the series, only for a series of that study."""
    key = (study_uid, series_uid)
    found = _series.get(key)
    if found is None:
        found = orthanc().find_series(study_uid, series_uid)
        if found is None:
            raise Refused(404, "series not in study")
        _series.put(key, found)
    return found


# Series that are not pictures of the patient: never chosen for a study's thumbnail.
_NOT_IMAGES = frozenset({"SEG", "SR", "PR", "KO", "RTSTRUCT", "DOC", "REG", "RWV"})
_THUMBNAIL_SIZE = 128
_MAX_VIEWPORT = 1024
_VIEWPORT = re.compile(r"\A([1-9][0-9]{0,3}),([1-9][0-9]{0,3})\Z")
# A study's or series' representative instance changes only when instances arrive.
_representatives: TTLCache[str] = TTLCache(60.0)


def _middle(instances: list[str]) -> str | None:
    return instances[len(instances) // 2] if instances else None


def representative_instance(target: Target) -> str:
    """Orthanc id of the instance that stands for the target in a thumbnail.

    Instance: itself. Series: its middle instance (in Orthanc's order). Study: the middle
    instance of its first image series (SEG, SR and other non-image series are passed over).
    """
    if target.sop_uid:
        return instance(target.study_uid, target.series_uid, target.sop_uid)[0]
    key = (target.study_uid, target.series_uid)
    hit = _representatives.get(key)
    if hit is not None:
        return hit
    if target.series_uid:
        chosen = _middle(orthanc().series_instances(series_in_study(*key)))
    else:
        study_id = orthanc().lookup_study(target.study_uid)
        series = orthanc().study_series(study_id) if study_id else []
        images = [
            s
            for s in series
            if str((s.get("MainDicomTags") or {}).get("Modality", "")) not in _NOT_IMAGES
        ]
        chosen = next((m for s in images if (m := _middle(list(s.get("Instances") or [])))), None)
    if chosen is None:
        raise Refused(404, "no image to make a thumbnail of")
    _representatives.put(key, str(chosen))
    return str(chosen)


def thumbnail(request: HttpRequest, target: Target) -> HttpResponse:
    """DICOMweb thumbnail (Orthanc's DICOMweb 1.7 has none): the plugin's HTJ2K-aware
    ``/instances/{id}/rendered`` of the representative instance, bounded by ``viewport=w,h``
    (default 128x128). PNG, or JPEG when the client accepts only JPEG (Accept is passed on).
    """
    viewport = request.GET.get("viewport", "")
    width = height = _THUMBNAIL_SIZE
    if viewport:
        match = _VIEWPORT.match(viewport)
        if match is None:
            raise Refused(400, "bad viewport")
        width = min(int(match.group(1)), _MAX_VIEWPORT)
        height = min(int(match.group(2)), _MAX_VIEWPORT)
    orthanc_id = representative_instance(target)
    return accel(
        f"{INTERNAL}/instances/{orthanc_id}/rendered", urlencode({"width": width, "height": height})
    )


def instance(study_uid: str, series_uid: str, sop_uid: str) -> tuple[str, str]:
    """(Orthanc instance id, stored transfer syntax), only for an instance in that series/study."""
    key = (study_uid, series_uid, sop_uid)
    hit = _instances.get(key)
    if hit is None:
        found = orthanc().find_instance(study_uid, series_uid, sop_uid)
        if found is None:
            raise Refused(404, "instance not in series/study")
        hit = (found, orthanc().transfer_syntax(found))
        _instances.put(key, hit)
    return hit


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
        dialect = cached if cached is not None else orthanc().query_dialect()
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


def accepts_stored(accept: str, transfer_syntax: str) -> bool:
    """Whether an Accept header takes frames as stored: octets labelled ``transfer_syntax``.

    Only an ``application/octet-stream`` range (alone or as a multipart ``type``) naming
    ``transfer-syntax=*`` or that exact syntax does. Anything else (no transfer syntax, which
    PS3.18 reads as Explicit VR Little Endian, another syntax, ``image/jpeg``…) is Orthanc's to
    transcode or refuse.
    """
    for media_range in accept.split(","):
        media_type, *parameters = (part.strip() for part in media_range.split(";"))
        values = {}
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            values[name.strip().lower()] = value.strip().strip('"').lower()
        if media_type.lower() == "multipart/related":
            media_type = values.get("type", "")
        if media_type.lower() == "application/octet-stream" and values.get("transfer-syntax") in (
            "*",
            transfer_syntax,
        ):
            return True
    return False


def wants_single_part(accept: str) -> bool:
    return "multipart/related" not in accept or bool(_CORNERSTONE_ACCEPT.search(accept))
