"""Wiring: the door to Django admin (/api/admin/): network, rate, and an audited change log.

- Only clients in PORTAL_ADMIN_NETWORKS (by the trusted-proxy address, never a header the
  client wrote) reach admin at all; anyone else gets a 404, audited as ``admin-refused``.
- Every admin request counts against PORTAL_ADMIN_RATE per client address (429 beyond).
- Every unsafe request other than the login form runs in one transaction with its audit row
  (``admin-change``): if the row cannot be written the change is rolled back and 503 returned.
"""

from __future__ import annotations

from collections.abc import Callable

from accounts.throttling import AdminRateThrottle
from audit import services as audit
from common.clients import in_admin_networks
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

ADMIN_PREFIX = "/api/admin/"
_LOGIN = ADMIN_PREFIX + "login/"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


class _Rollback(Exception):  # noqa: N818 - control flow: undo the change it could not audit
    def __init__(self, unavailable: audit.AuditUnavailable) -> None:
        super().__init__(str(unavailable.detail))
        self.detail = str(unavailable.detail)


class AdminGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(ADMIN_PREFIX):
            return self.get_response(request)
        if not in_admin_networks(request):
            audit.record(
                action="admin-refused",
                allowed=False,
                request=request,
                target=request.path_info[:300],
                status_code=404,
                detail="client outside PORTAL_ADMIN_NETWORKS",
            )
            return JsonResponse({"detail": "not found"}, status=404)
        rate = AdminRateThrottle()
        if not rate.allow_request(request, None):  # type: ignore[arg-type]
            audit.record(
                action="admin-refused",
                allowed=False,
                request=request,
                target=request.path_info[:300],
                status_code=429,
                detail="PORTAL_ADMIN_RATE exceeded",
            )
            response = JsonResponse({"detail": "too many requests"}, status=429)
            response["Retry-After"] = str(int(rate.wait() or 1))
            return response
        if request.method in _SAFE or request.path_info == _LOGIN:
            return self.get_response(request)
        return self._audited_change(request)

    def _audited_change(self, request: HttpRequest) -> HttpResponse:
        try:
            with transaction.atomic():
                response = self.get_response(request)
                user = request.user
                try:
                    audit.record(
                        action="admin-change",
                        allowed=response.status_code < 400,
                        request=request,
                        user_id=user.pk if user.is_authenticated else None,
                        username=user.get_username() if user.is_authenticated else "",
                        target=f"{request.method} {request.path_info}"[:300],
                        status_code=response.status_code,
                        required=True,
                    )
                except audit.AuditUnavailable as unavailable:
                    raise _Rollback(unavailable) from unavailable
        except _Rollback as rollback:
            return JsonResponse({"detail": rollback.detail}, status=503)
        return response
