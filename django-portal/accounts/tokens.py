"""Adapter (simplejwt + Django cache): issue, rotate and revoke the portal's JWTs.

Refresh tokens rotate and are blacklisted by simplejwt's token_blacklist app. Access tokens are
short-lived; logging out also records the access token's ``jti`` in the shared cache until it
would have expired, so a stolen access token stops working at logout, in every worker.

A login starts a session: its refresh tokens carry ``auth_time`` (when the password was
checked) through every rotation, and none is issued or accepted past ``auth_time`` +
JWT_SESSION_HOURS, however often it was rotated. Every token also carries simplejwt's
``hash_password`` claim, so a rotation under a changed password is refused.
"""

from __future__ import annotations

import time
from contextlib import suppress
from dataclasses import dataclass

from common.ttl_cache import TTLCache
from django.conf import settings
from django.core.cache import cache
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts.models import User

REVOKED_PREFIX = "revoked-access:"
AUTH_TIME = "auth_time"  # when the session's password check happened (OpenID Connect's name)


@dataclass(frozen=True, slots=True)
class TokenPair:
    access: str
    refresh: str
    refresh_expires_at: int  # epoch seconds: the refresh cookie lives no longer


def _session_end(auth_time: int) -> int:
    return auth_time + int(settings.CONFIG.security.session_hours * 3600)


def issue(user: User, *, auth_time: int | None = None) -> TokenPair:
    """A new pair; ``auth_time`` (epoch seconds) carries a session's start across rotations."""
    refresh = RefreshToken.for_user(user)
    refresh["role"] = user.role
    refresh["username"] = user.get_username()
    started = int(time.time()) if auth_time is None else auth_time
    refresh[AUTH_TIME] = started
    refresh["exp"] = min(int(refresh["exp"]), _session_end(started))
    return TokenPair(
        access=str(refresh.access_token),
        refresh=str(refresh),
        refresh_expires_at=int(refresh["exp"]),
    )


def rotate(raw_refresh: str) -> TokenPair:
    """Verify a refresh token (signature, aud, iss, exp, blacklist, session lifetime, password),
    blacklist it, issue a new pair in the same session.

    Raises TokenError when the token is invalid, revoked or its session is over.
    """
    old = RefreshToken(raw_refresh)  # type: ignore[arg-type]
    auth_time = old.get(AUTH_TIME)
    if not isinstance(auth_time, int) or time.time() >= _session_end(auth_time):
        raise TokenError("session expired: log in again")
    user = User.objects.filter(pk=old["user_id"], is_active=True).first()
    if user is None:
        raise TokenError("user inactive or gone")
    if old.get(api_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(user.password):
        raise TokenError("password changed: log in again")
    old.blacklist()
    return issue(user, auth_time=auth_time)


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
