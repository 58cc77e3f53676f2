"""Wiring: the image gateway's short way through Django.

Every frame a viewer loads is one request to ``/api/pacs/dicom-web/…`` or ``/api/pacs/wado``.
Those views authenticate with the JWT themselves (no session, no Django user, no CSRF: they
accept GET/HEAD only) and answer with an empty X-Accel-Redirect, so the session, CSRF, auth and
messages middleware and URL resolution are pure cost there. This middleware, first in the list,
hands those two routes straight to their views; every other path goes down the usual chain.

What CommonMiddleware did for these routes stays: ``request.get_host()`` validates Host
against ALLOWED_HOSTS (DisallowedHost becomes a 400 in Django's exception handling), and every
answer gets its Content-Length.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from pacs import views

DICOMWEB_PREFIX = "/api/pacs/dicom-web/"
# STOW-RS carries a body and is a DRF view (cookie callers pass CSRF): the usual chain.
STOW_PATH = DICOMWEB_PREFIX + "studies"
WADO_PATH = "/api/pacs/wado"


class ImageGatewayMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        path = request.path_info
        if path.startswith(DICOMWEB_PREFIX) and not (
            request.method == "POST" and path == STOW_PATH
        ):
            request.get_host()
            return _sized(views.dicomweb(request, path[len(DICOMWEB_PREFIX) :]))
        if path == WADO_PATH:
            request.get_host()
            return _sized(views.wado(request))
        return self.get_response(request)


def _sized(response: HttpResponseBase) -> HttpResponseBase:
    """Content-Length as CommonMiddleware would set it: no chunked framing towards nginx."""
    if isinstance(response, HttpResponse) and not response.has_header("Content-Length"):
        response["Content-Length"] = str(len(response.content))
    return response
