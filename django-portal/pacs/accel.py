"""Pure (Django responses): the X-Accel-Redirect answers of the image gateway.

Django answers with an empty body naming one of nginx's ``internal`` locations; nginx fetches
from Orthanc and streams. Each location is configured in nginx/neuronova.conf.template.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse

from pacs import media, query
from pacs.media import FrameAnswer
from pacs.refusal import Refused

INTERNAL = "/internal-orthanc"
INTERNAL_RAW = "/internal-orthanc-raw"
# The same raw frames with byte ranges: nginx cuts Range requests out of Orthanc's whole answer.
INTERNAL_RANGES = "/internal-orthanc-ranges"
# Orthanc's /preview scaled by nginx's image filter (thumbnails).
INTERNAL_THUMBNAIL = "/internal-orthanc-thumbnail"
# OHIF's image loader (cornerstone) asks exactly this and reads a single-part answer; clients
# that quote the type parameter (DICOMweb clients) parse a real multipart body.
_CORNERSTONE_ACCEPT = re.compile(r"type=application/octet-stream;\s*transfer-syntax=\*")
_THUMBNAIL_SIZE = 128
_MAX_VIEWPORT = 1024
_VIEWPORT = re.compile(r"\A([1-9][0-9]{0,3}),([1-9][0-9]{0,3})\Z")


def accel(location: str, query: str = "", content_type: str | None = None) -> HttpResponse:
    response = HttpResponse(b"", content_type=content_type)
    response["X-Accel-Redirect"] = f"{location}?{query}" if query else location
    if content_type is None:
        del response["Content-Type"]  # let the redirected answer's own type through
    response["Cache-Control"] = "private, no-store"
    return response


def thumbnail_size(viewport: str) -> tuple[int, int]:
    """(width, height) from DICOMweb's ``viewport=w,h`` (default 128x128, at most 1024)."""
    if not viewport:
        return _THUMBNAIL_SIZE, _THUMBNAIL_SIZE
    match = _VIEWPORT.match(viewport)
    if match is None:
        raise Refused(400, "bad viewport")
    return min(int(match.group(1)), _MAX_VIEWPORT), min(int(match.group(2)), _MAX_VIEWPORT)


def thumbnail(orthanc_id: str, size: tuple[int, int]) -> HttpResponse:
    """DICOMweb thumbnail of one instance: Orthanc's ``/instances/{id}/preview`` (stretched over
    the image's own min..max, so a file without a VOI window still gives a picture;
    ``/rendered`` would map the whole stored bit depth and answer a black square), scaled by
    nginx. PNG, or JPEG when the client accepts only JPEG (Accept is passed on).
    """
    width, height = size
    return accel(
        f"{INTERNAL_THUMBNAIL}/instances/{orthanc_id}/preview",
        urlencode({"width": width, "height": height}),
    )


def frame_answer(
    request: HttpRequest, pairs: tuple[query.Pair, ...], stored: str
) -> FrameAnswer | None:
    """How to answer frames stored in ``stored``: as stored (FrameAnswer), or None for Orthanc's
    own WADO-RS route (a transcoded answer, or its refusal). The ``accept`` query parameter, when
    present, stands for the Accept header (PS3.18 8.3.3.1)."""
    in_query = [value for key, value in pairs if key == "accept"]
    accept = ",".join(in_query) if in_query else str(request.META.get("HTTP_ACCEPT", ""))
    return media.negotiate(accept, stored, cornerstone=bool(_CORNERSTONE_ACCEPT.search(accept)))
