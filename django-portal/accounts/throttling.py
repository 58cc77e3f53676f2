"""Adapter (Django cache via DRF): request rates per client address, username or study.

Every throttle keys on the client address the trusted proxies name
(common.clients), never on DRF's own reading of X-Forwarded-For, which a client
writes itself.
"""

from __future__ import annotations

import hashlib
from typing import Any

from common.clients import client_ip
from django.conf import settings
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


def _hashed(text: str) -> str:
    # attacker-chosen text becomes a plain, bounded cache key
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class ClientAddressThrottle(SimpleRateThrottle):
    def get_ident(self, request: Request | HttpRequest) -> str:
        return client_ip(request._request if isinstance(request, Request) else request)


class LoginRateThrottle(ClientAddressThrottle):
    """Per (client address, username): slows a guesser without locking out a ward behind one
    NAT address; the per-username backoff (accounts.login_guard) covers many addresses."""

    scope = "login"

    def get_cache_key(self, request: Request | HttpRequest, view: Any) -> str:  # noqa: ANN401
        # a DRF request (API login) or Django's own (the admin login form)
        data = request.data if isinstance(request, Request) else request.POST
        username = str(data.get("username", "") if hasattr(data, "get") else "")[:150].lower()
        ident = f"{self.get_ident(request)}:{_hashed(username)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class RefreshRateThrottle(ClientAddressThrottle):
    scope = "refresh"

    def get_cache_key(self, request: Request, view: Any) -> str:  # noqa: ANN401 - DRF's API
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AdminRateThrottle(ClientAddressThrottle):
    """Every Django admin request, per client address (neuronova_portal.admin_guard)."""

    scope = "admin"

    def get_rate(self) -> str:
        return str(settings.CONFIG.security.admin_rate)

    def get_cache_key(self, request: Request, view: Any) -> str:  # noqa: ANN401 - DRF's API
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ReanalyzeRateThrottle(SimpleRateThrottle):
    """Re-analyses per study, whoever asks: each one costs a full inference run."""

    scope = "reanalyze"

    def get_rate(self) -> str:
        return str(settings.CONFIG.security.reanalyze_rate)

    def get_cache_key(self, request: Request, view: Any) -> str | None:  # noqa: ANN401
        study_uid = str(view.kwargs.get("study_uid", "")) if view is not None else ""
        if not study_uid:
            return None
        return self.cache_format % {"scope": self.scope, "ident": _hashed(study_uid)}
