"""Wiring: authorisation for DRF views — the request's principal, its decision-cache key and
the role permissions."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from authz.principal import Principal
from authz.wiring import authoriser


def principal_of(request: Request) -> Principal:
    """The authenticated user as a Principal (cached briefly); 403 when inactive or gone."""
    principal = authoriser().principal(int(request.user.pk or 0))
    if principal is None or not principal.active:
        raise PermissionDenied("inactive user")
    return principal


def credential_key(request: Request) -> str:
    """Names the credential for the decision cache: the access token's id."""
    token = request.auth
    try:
        return f"drf:{token['jti']}"  # type: ignore[index]
    except (KeyError, TypeError):
        return "drf:session"


class OrdersReanalysis(BasePermission):
    """Re-running the AI on a study is a reading decision: radiologists and admins only."""

    message = "only radiologists and admins may order a re-analysis"

    def has_permission(self, request: Request, view: Any) -> bool:  # noqa: ANN401 - DRF's API
        if not (request.user and request.user.is_authenticated):
            return False
        principal = authoriser().principal(int(request.user.pk or 0))
        return principal is not None and principal.active and principal.sees_everything
