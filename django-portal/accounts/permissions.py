"""Wiring: DRF permissions by role."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.models import ALL_STUDIES_ROLES


class OrdersReanalysis(BasePermission):
    """Re-running the AI on a study is a reading decision: radiologists and admins only."""

    message = "only radiologists and admins may order a re-analysis"

    def has_permission(self, request: Request, view: Any) -> bool:  # noqa: ANN401 - DRF's API
        user = request.user
        return bool(
            user and user.is_authenticated and getattr(user, "role", "") in ALL_STUDIES_ROLES
        )
