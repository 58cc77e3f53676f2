"""Adapter (Django cache via DRF): login throttling per (client address, username).

Keyed on both so a brute-force run against one account is slowed without locking out a whole
ward that shares one NAT address.
"""

from __future__ import annotations

import hashlib
from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


class LoginRateThrottle(SimpleRateThrottle):
    scope = "login"

    def get_cache_key(self, request: Request, view: Any) -> str:  # noqa: ANN401 - DRF's API
        data = request.data if isinstance(request.data, dict) else {}
        username = str(data.get("username", ""))[:150].lower()
        # hashed: usernames are attacker-chosen text; cache keys stay plain and bounded
        user_key = hashlib.sha256(username.encode()).hexdigest()[:32]
        ident = f"{self.get_ident(request)}:{user_key}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class RefreshRateThrottle(SimpleRateThrottle):
    scope = "refresh"

    def get_cache_key(self, request: Request, view: Any) -> str:  # noqa: ANN401 - DRF's API
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
