"""Wiring: Django admin for the admin role only, its login behind the same guard as the API's.

Django lets any ``is_staff`` user into admin; here the user must also hold the admin role. The
login form goes through the per-username backoff (accounts.login_guard) and the per-(address,
username) rate of the API login, and every attempt is audited as ``admin-login``.
"""

from __future__ import annotations

from typing import Any

from accounts import login_guard
from accounts.models import Role
from accounts.throttling import LoginRateThrottle
from audit import services as audit
from common.metrics import LOGINS
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import logout
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache


def is_portal_admin(user: Any) -> bool:  # noqa: ANN401 - AnonymousUser or the portal's User
    return bool(
        getattr(user, "is_active", False)
        and getattr(user, "is_staff", False)
        and getattr(user, "role", "") == Role.ADMIN
    )


class PortalAdminAuthenticationForm(AdminAuthenticationForm):
    def confirm_login_allowed(self, user: AbstractBaseUser) -> None:
        super().confirm_login_allowed(user)
        if not is_portal_admin(user):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


def _too_many(wait: int) -> HttpResponse:
    response = JsonResponse({"detail": "too many login attempts"}, status=429)
    response["Retry-After"] = str(wait)
    return response


class PortalAdminSite(admin.AdminSite):
    site_header = "NeuroNova administration"
    login_form = PortalAdminAuthenticationForm

    def has_permission(self, request: HttpRequest) -> bool:
        return is_portal_admin(request.user)

    @method_decorator(never_cache)
    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:  # noqa: ANN401
        if request.method != "POST":
            return super().login(request, extra_context)
        username = str(request.POST.get("username", ""))[:150]
        rate = LoginRateThrottle()
        wait = 0 if rate.allow_request(request, None) else int(rate.wait() or 1)  # type: ignore[arg-type]
        wait = wait or login_guard.begin(username)
        if wait:
            LOGINS.labels("throttled").inc()
            audit.record(
                action="admin-login",
                allowed=False,
                request=request,
                username=username,
                status_code=429,
                detail=f"throttled for {wait} s",
            )
            return _too_many(wait)
        response = super().login(request, extra_context)
        allowed = response.status_code == 302 and is_portal_admin(request.user)
        (login_guard.succeeded if allowed else login_guard.failed)(username)
        LOGINS.labels("success" if allowed else "failure").inc()
        try:
            audit.record(
                action="admin-login",
                allowed=allowed,
                request=request,
                user_id=request.user.pk if allowed else None,
                username=username,
                status_code=response.status_code,
            )
        except audit.AuditUnavailable as unavailable:
            logout(request)
            return JsonResponse({"detail": str(unavailable.detail)}, status=503)
        return response
