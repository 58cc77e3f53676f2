"""Adapter (simplejwt + Django cache): issue, rotate and revoke the portal's JWTs.

Refresh tokens rotate and are blacklisted by simplejwt's token_blacklist app. Access tokens are
short-lived; logging out also records the access token's ``jti`` in the shared cache until it
would have expired, so a stolen access token stops working at logout, in every worker.
"""

from __future__ import annotations

import time
from contextlib import suppress
from dataclasses import dataclass

from django.core.cache import cache
from pacs.ttl_cache import TTLCache
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import User

REVOKED_PREFIX = "revoked-access:"


@dataclass(frozen=True, slots=True)
class TokenPair:
    access: str
    refresh: str


def issue(user: User) -> TokenPair:
    refresh = RefreshToken.for_user(user)
    refresh["role"] = user.role
    refresh["username"] = user.get_username()
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def rotate(raw_refresh: str) -> TokenPair:
    """Verify a refresh token (signature, aud, iss, exp, blacklist), blacklist it, issue a new pair.

    Raises TokenError when the token is invalid or revoked.
    """
    old = RefreshToken(raw_refresh)  # type: ignore[arg-type]
    user = User.objects.filter(pk=old["user_id"], is_active=True).first()
    if user is None:
        raise TokenError("user inactive or gone")
    old.blacklist()
    return issue(user)


def revoke(*, raw_refresh: str | None, access: AccessToken | None) -> None:
    """Blacklist the refresh token (if valid) and revoke the access token until its expiry."""
    if raw_refresh:
        with suppress(TokenError):  # an invalid refresh token has nothing left to revoke
            RefreshToken(raw_refresh).blacklist()  # type: ignore[arg-type]
    if access is not None:
        remaining = int(access["exp"]) - int(time.time())
        if remaining > 0:
            cache.set(f"{REVOKED_PREFIX}{access['jti']}", 1, timeout=remaining + 1)
        _not_revoked.pop(str(access["jti"]))


# Access tokens this process saw not revoked, trusted so for a short while (see is_revoked).
_not_revoked: TTLCache[bool] = TTLCache(1.0, max_entries=20_000)


def is_revoked(jti: str, *, recheck_after_s: float = 0.0) -> bool:
    """Whether the access token was revoked (logged out), from the shared cache.

    With ``recheck_after_s`` > 0 (the image gateway: every frame is a request), a "not revoked"
    answer is reused in this process for that long, so a logout elsewhere takes effect here
    within that time; a logout handled by this process takes effect at once.
    """
    if recheck_after_s > 0 and _not_revoked.get(jti) is not None:
        return False
    revoked = bool(cache.get(f"{REVOKED_PREFIX}{jti}"))
    if not revoked and recheck_after_s > 0:
        _not_revoked.put(jti, True, ttl_s=recheck_after_s)
    return revoked
