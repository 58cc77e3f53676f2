"""Wiring: a series' or a study's metadata (WADO-RS RetrieveMetadata, DICOM JSON) from the
portal's shared cache, after the same authorisation as every image request.

A viewer opening a study asks each series' metadata (OHIF with ``enableStudyLazyLoad``, ours);
other DICOMweb clients (OHIF without lazy load, scripts) ask the whole study's at once. The
answer is kept gzipped in the shared cache (Redis, ``PORTAL_METADATA_CACHE_SECONDS``) under

    (the level, the exact Orthanc series or study, the version of its content, the public root
     of its URLs)

- **The exact resource.** The Orthanc series id is derived from the PatientID of the study the
  StudyInstanceUID stands for (authz's StudyRef), and the study's is the StudyRef's own Orthanc
  study id: never found by UID, so another patient's study that reuses the UIDs (a conflict)
  is another Orthanc resource, hence another key. The cache is read only after the caller was
  authorised for that study, as a redirect would be.
- **The version** is a digest of the resource's Orthanc instance ids, read from Orthanc's index
  on every request (one indexed lookup, no file read). Orthanc never rewrites a stored instance
  (a modification is a new instance), so a new instance, a deletion or a replacement changes it
  and the next request builds afresh; an answer is kept only if the resource did not change
  while it was built. A SEG is its own series: it never changes its source series' entry, and
  it does change the study's (the study's metadata lists it).
- **Built from** Orthanc's DICOMweb (which keeps its own per-series copy, attachment 4301,
  written when the series becomes stable, so even a miss rarely re-reads files) or, where
  another patient's study shares the UIDs and Orthanc's UID lookups would fail, from the owner's
  own files (pacs.compose; host-independent relative BulkDataURIs).

Answers are gzip bytes served as they are to clients that take gzip (every browser), so a hit
costs one Orthanc index lookup and one cache read. ``neuronova_metadata_cache_total`` counts
hits and misses.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable

from archive import client as archive
from archive.orthanc import OrthancNotFound
from authz.identity import StudyRef
from common.metrics import METADATA_CACHE
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from pacs import compose
from pacs.query import Pair
from pacs.refusal import Refused

DICOM_JSON = "application/dicom+json"
KEY_PREFIX = "nn-series-metadata:v1"
STUDY_KEY_PREFIX = "nn-study-metadata:v1"
_JSON_RANGES = frozenset({"application/dicom+json", "application/json", "application/*", "*/*"})


def version(instance_ids: list[str]) -> str:
    """Pure: names the series' content (the set of its Orthanc instance ids, order ignored)."""
    return hashlib.sha256("\n".join(sorted(instance_ids)).encode()).hexdigest()[:32]


def _accepted(header: str, wanted: frozenset[str]) -> bool:
    """Pure: whether an Accept-style header names one of ``wanted`` without ``q=0``."""
    for item in header.split(","):
        name, *params = (part.strip().lower() for part in item.split(";"))
        if name in wanted and not any(_q_zero(param) for param in params):
            return True
    return False


def _q_zero(param: str) -> bool:
    key, _, value = param.replace(" ", "").partition("=")
    try:
        return key == "q" and float(value) == 0
    except ValueError:
        return False


def cacheable(request: HttpRequest, pairs: tuple[Pair, ...]) -> bool:
    """A plain JSON metadata request: no query parameters, and JSON (the default) accepted.

    Anything else (XML, ``includefield``…) goes to Orthanc's DICOMweb as before."""
    accept = str(request.META.get("HTTP_ACCEPT", ""))
    wants_json = not accept.strip() or _accepted(accept, _JSON_RANGES)
    return settings.CONFIG.metadata_cache_seconds > 0 and not pairs and wants_json


def public_root(request: HttpRequest) -> str:
    """Where the answer's URLs must point: what the client called plus ``/api/pacs`` (Orthanc
    appends ``/dicom-web/``), as nginx's internal locations tell Orthanc (proxy-orthanc.conf).
    The host is the one Django already checked against ALLOWED_HOSTS; nginx sets the scheme."""
    proto = str(request.META.get("HTTP_X_FORWARDED_PROTO", ""))
    scheme = proto if proto in ("http", "https") else request.scheme
    return f"{scheme}://{request.get_host()}/api/pacs"


def series(
    request: HttpRequest, ref: StudyRef, series_uid: str, *, shared: bool, bulk_root: str
) -> HttpResponse:
    """The metadata of that series of that exact study (``shared``: another patient's study
    reuses its UIDs, so it is built from the owner's files with URIs under ``bulk_root``)."""
    orthanc = archive.orthanc()
    orthanc_series_id = ref.series_id(series_uid)

    def instances() -> list[str]:
        return orthanc.series_instances(orthanc_series_id)

    def build(ids: list[str], root: str) -> bytes:
        if shared:
            return compose.metadata(orthanc, ids, bulk_root)
        return orthanc.series_metadata(ref.study_uid, series_uid, root)

    key = f"{KEY_PREFIX}:{orthanc_series_id}"
    return _cached(request, key, instances, build, shared=shared, missing="series not in study")


def study(request: HttpRequest, ref: StudyRef, *, shared: bool, bulk_root: str) -> HttpResponse:
    """The metadata of every instance of that exact study (``shared`` as for ``series``: built
    from the owner's files when another patient's study reuses the StudyInstanceUID)."""
    orthanc = archive.orthanc()

    def instances() -> list[str]:
        return [str(i["ID"]) for i in orthanc.study_instances(ref.orthanc_study_id)]

    def build(ids: list[str], root: str) -> bytes:
        if shared:
            return compose.metadata(orthanc, ids, bulk_root)
        return orthanc.study_metadata(ref.study_uid, root)

    key = f"{STUDY_KEY_PREFIX}:{ref.orthanc_study_id}"
    return _cached(request, key, instances, build, shared=shared, missing="study not found")


def _cached(
    request: HttpRequest,
    resource_key: str,
    instances: Callable[[], list[str]],
    build: Callable[[list[str], str], bytes],
    *,
    shared: bool,
    missing: str,
) -> HttpResponse:
    """The answer under (exact resource, its current version, public root), built on a miss."""
    try:
        ids = instances()
    except OrthancNotFound as exc:
        raise Refused(404, missing) from exc
    if not ids:
        raise Refused(404, missing)
    current = version(ids)
    root = "" if shared else public_root(request)
    where = hashlib.sha256(root.encode()).hexdigest()[:16]
    key = f"{resource_key}:{current}:{where}"
    body = cache.get(key)
    if isinstance(body, bytes):
        METADATA_CACHE.labels("hit").inc()
        return _answer(request, body)
    METADATA_CACHE.labels("miss").inc()
    body = gzip.compress(build(ids, root), compresslevel=6)
    # Kept only when the resource is still the version the key names (nothing arrived or left
    # while it was read): an entry never holds another version's instances.
    if version(instances()) == current:
        cache.set(key, body, settings.CONFIG.metadata_cache_seconds)
    return _answer(request, body)


def _answer(request: HttpRequest, body: bytes) -> HttpResponse:
    if _accepted(str(request.META.get("HTTP_ACCEPT_ENCODING", "")), frozenset({"gzip", "*"})):
        response = HttpResponse(body, content_type=DICOM_JSON)
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(gzip.decompress(body), content_type=DICOM_JSON)
    response["Vary"] = "Accept-Encoding"
    response["Cache-Control"] = "private, no-store"
    return response
