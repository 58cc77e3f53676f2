"""Adapter (simplejwt): authenticate DRF requests by Bearer header or the HttpOnly access cookie.

The token itself is checked by accounts.verifier, the same check the image gateway makes.

A token from the cookie is a browser session: unsafe methods must then pass Django's CSRF check
(the SPA echoes the ``csrftoken`` cookie in ``X-CSRFToken``). Bearer callers are not cookie-borne
and need no CSRF token.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.tokens import Token

from accounts import verifier

ACCESS_COOKIE = "nn_access"
REFRESH_COOKIE = "nn_refresh"


def _unused_view(_request: HttpRequest) -> HttpResponse:
    return HttpResponse()


def enforce_csrf(request: HttpRequest) -> None:
    check = CsrfViewMiddleware(_unused_view)
    check.process_request(request)
    if check.process_view(request, _unused_view, (), {}) is not None:
        raise exceptions.PermissionDenied("CSRF check failed")


def raw_token(request: HttpRequest) -> tuple[str | None, bool]:
    """The access token and whether it came from the cookie (False: from the Bearer header)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        parts = header.split()
        if len(parts) == 2 and parts[0] == "Bearer":
            return parts[1], False
        return None, False
    cookie = request.COOKIES.get(ACCESS_COOKIE)
    return (cookie or None), bool(cookie)


class CookieOrHeaderJWTAuthentication(JWTAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Token] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header and not header.startswith("Bearer "):
            raise InvalidToken("Authorization must be a Bearer token")
        token, from_cookie = raw_token(request._request)
        if token is None:
            return None
        try:
            verified = verifier.verify_access(token)
        except verifier.TokenRefused as refused:
            raise InvalidToken(refused.reason) from refused
        validated = verified.token
        user = self.get_user(validated)
        if from_cookie and request.method not in {"GET", "HEAD", "OPTIONS", "TRACE"}:
            enforce_csrf(request._request)
        return user, validated

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
