"""Adapter (simplejwt + ORM + Django cache): the one check of an access token, for the API (DRF)
and the image gateway alike.

A token is accepted when its signature, audience, issuer, type and expiry verify, it was not
revoked (logout), its user exists and is active, and it was issued under the user's current
password (simplejwt's ``hash_password`` claim): a password change ends every earlier token.
Two per-process caches keep the frame path cheap and are the same for both callers: a token
string that verified is not re-decoded for 10 s (expiry is still checked every time), and
revocation and user state are re-read at least every PORTAL_REVOCATION_RECHECK_SECONDS.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from common.ttl_cache import TTLCache
from django.conf import settings
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken

from accounts import selectors
from accounts.tokens import is_revoked


class TokenRefused(Exception):  # noqa: N818 - an answer (401), not a fault
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VerifiedAccess:
    token: AccessToken
    user_id: int

    @property
    def token_id(self) -> str:
        return str(self.token["jti"])


_decoded: TTLCache[AccessToken] = TTLCache(10.0, max_entries=10_000)
_users: TTLCache[selectors.CredentialState] = TTLCache(1.0, max_entries=10_000)


def _decode(token_text: str) -> AccessToken:
    token = _decoded.get(token_text)
    if token is None or int(token["exp"]) <= time.time():
        try:
            token = AccessToken(token_text)  # type: ignore[arg-type]
        except TokenError as exc:
            raise TokenRefused(f"invalid token: {exc}") from exc
        _decoded.put(token_text, token)
    return token


def _fresh_state(user_id: int, recheck_s: float) -> selectors.CredentialState | None:
    state = selectors.credential_state(user_id=user_id)
    if state is not None and recheck_s > 0:
        _users.put(user_id, state, ttl_s=recheck_s)
    return state


def _refusal(token: AccessToken, state: selectors.CredentialState | None) -> str:
    if state is None or not state.active:
        return "user inactive or gone"
    if token.get(api_settings.REVOKE_TOKEN_CLAIM) != state.password_digest:
        return "password changed since the token was issued"
    return ""


def verify_access(token_text: str) -> VerifiedAccess:
    """The verified access token and its user's id; raises TokenRefused (→ 401) otherwise."""
    token = _decode(token_text)
    recheck_s = settings.CONFIG.revocation_recheck_seconds
    if is_revoked(str(token["jti"]), recheck_after_s=recheck_s):
        raise TokenRefused("token revoked")
    try:
        user_id = int(token[api_settings.USER_ID_CLAIM])
    except (KeyError, TypeError, ValueError) as exc:
        raise TokenRefused("token names no user") from exc
    cached = _users.get(user_id) if recheck_s > 0 else None
    refusal = _refusal(token, cached) if cached is not None else "not cached"
    if refusal:  # the cache may only delay a refusal, never cause one: decide on a fresh read
        refusal = _refusal(token, _fresh_state(user_id, recheck_s))
    if refusal:
        raise TokenRefused(refusal)
    return VerifiedAccess(token=token, user_id=user_id)


def forget_user(user_id: int) -> None:
    """Drop this process's cached state of a user (after a change made by this process)."""
    _users.pop(user_id)
