"""Wiring: token, browser login (HttpOnly cookies), refresh, logout and who-am-I."""

from __future__ import annotations

import time
from typing import Any, NoReturn

from audit import services as audit
from common.metrics import LOGINS
from django.conf import settings
from django.contrib.auth import authenticate
from django.middleware.csrf import get_token
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from accounts import login_guard, selectors, tokens
from accounts.authentication import ACCESS_COOKIE, REFRESH_COOKIE, enforce_csrf
from accounts.models import User
from accounts.serializers import Credentials, Me, RefreshIn, TokenPairOut
from accounts.throttling import LoginRateThrottle, RefreshRateThrottle


def _check_credentials(request: Request) -> User | None:
    """The user for these credentials, or None; raises Throttled while the username backs off.

    A successful login whose audit row cannot be written is refused (audit.AuditUnavailable).
    """
    credentials = Credentials(data=request.data)
    credentials.is_valid(raise_exception=True)
    username = credentials.validated_data["username"]
    wait = login_guard.begin(username)
    if wait:
        LOGINS.labels("throttled").inc()
        audit.record(
            action="login",
            allowed=False,
            request=request._request,
            username=username,
            status_code=429,
            detail=f"username backing off for {wait} s",
        )
        raise Throttled(wait=wait)
    user = authenticate(
        request._request, username=username, password=credentials.validated_data["password"]
    )
    if isinstance(user, User):
        login_guard.succeeded(username)
    else:
        login_guard.failed(username)
    LOGINS.labels("success" if user is not None else "failure").inc()
    audit.record(
        action="login",
        allowed=user is not None,
        request=request._request,
        user_id=user.pk if user is not None else None,
        username=username,
        status_code=200 if user is not None else 401,
    )
    return user if isinstance(user, User) else None


def _denied() -> Response:
    return Response({"detail": "invalid credentials"}, status=status.HTTP_401_UNAUTHORIZED)


def _set_cookies(response: Response, pair: tokens.TokenPair) -> None:
    config = settings.CONFIG
    common: dict[str, Any] = {
        "httponly": True,
        "samesite": "Strict",
        "secure": config.secure_cookies,
    }
    response.set_cookie(
        ACCESS_COOKIE, pair.access, max_age=config.access_token_minutes * 60, path="/", **common
    )
    response.set_cookie(
        REFRESH_COOKIE,
        pair.refresh,
        max_age=max(0, pair.refresh_expires_at - int(time.time())),
        path="/api/auth/",
        **common,
    )


class LoginThrottled(APIView):
    permission_classes = (AllowAny,)
    authentication_classes = ()
    throttle_classes: tuple[type[LoginRateThrottle] | type[RefreshRateThrottle], ...] = (
        LoginRateThrottle,
    )

    audit_action = "login"

    def throttled(self, request: Request, wait: float) -> NoReturn:
        """The address throttle refused: audited and counted like every other refusal."""
        data = request.data if isinstance(request.data, dict) else {}
        if self.audit_action == "login":
            LOGINS.labels("throttled").inc()
        audit.record(
            action=self.audit_action,
            allowed=False,
            request=request._request,
            username=str(data.get("username", ""))[:150],
            status_code=429,
            detail="address rate exceeded",
        )
        super().throttled(request, wait)


class TokenView(LoginThrottled):
    @extend_schema(request=Credentials, responses={200: TokenPairOut})
    def post(self, request: Request) -> Response:
        user = _check_credentials(request)
        if user is None:
            return _denied()
        pair = tokens.issue(user)
        return Response({"access": pair.access, "refresh": pair.refresh})


class LoginView(LoginThrottled):
    @extend_schema(request=Credentials, responses={200: Me})
    def post(self, request: Request) -> Response:
        user = _check_credentials(request)
        if user is None:
            return _denied()
        pair = tokens.issue(user)
        response = Response({"username": user.get_username(), "role": user.role})
        _set_cookies(response, pair)
        get_token(request._request)  # sets the csrftoken cookie the SPA echoes on POSTs
        return response


class RefreshView(LoginThrottled):
    """Rotate: the presented refresh token is blacklisted and a new pair is issued."""

    throttle_classes = (RefreshRateThrottle,)
    audit_action = "refresh"

    @extend_schema(request=RefreshIn, responses={200: TokenPairOut})
    def post(self, request: Request) -> Response:
        body = RefreshIn(data=request.data)
        body.is_valid(raise_exception=True)
        raw = body.validated_data.get("refresh") or ""
        from_cookie = not raw
        if from_cookie:
            raw = request.COOKIES.get(REFRESH_COOKIE, "")
            if raw:
                enforce_csrf(request._request)
        if not raw:
            return Response({"detail": "no refresh token"}, status=status.HTTP_401_UNAUTHORIZED)
        try:
            pair = tokens.rotate(raw)
        except TokenError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_401_UNAUTHORIZED)
        response = Response({"access": pair.access, "refresh": pair.refresh})
        if from_cookie:
            _set_cookies(response, pair)
        return response


class LogoutView(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(request=RefreshIn, responses={204: None})
    def post(self, request: Request) -> Response:
        body = RefreshIn(data=request.data)
        body.is_valid(raise_exception=True)
        raw = body.validated_data.get("refresh") or request.COOKIES.get(REFRESH_COOKIE, "")
        access = request.auth if isinstance(request.auth, AccessToken) else None
        tokens.revoke(raw_refresh=raw or None, access=access)
        audit.record(
            action="logout",
            allowed=True,
            request=request._request,
            user_id=request.user.pk,
            username=request.user.get_username(),
            status_code=204,
            required=False,  # the session has ended either way; a failed write is still counted
        )
        response = Response(status=status.HTTP_204_NO_CONTENT)
        response.delete_cookie(ACCESS_COOKIE, path="/", samesite="Strict")
        response.delete_cookie(REFRESH_COOKIE, path="/api/auth/", samesite="Strict")
        return response


class MeView(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(responses={200: Me})
    def get(self, request: Request) -> Response:
        principal = selectors.principal(user_id=int(request.user.pk or 0))
        assert principal is not None
        patient_ids = None if principal.patient_ids is None else sorted(principal.patient_ids)
        return Response(
            {"username": principal.username, "role": principal.role, "patient_ids": patient_ids}
        )
