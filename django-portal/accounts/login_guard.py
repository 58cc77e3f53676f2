"""Adapter (Django cache): per-username backoff after repeated failed logins.

The address throttle (accounts.throttling) cannot stop guesses spread over many addresses, so
each username also counts its attempts since its last successful login. The first
``login_failures`` are free; after that one attempt is allowed per window, and each failure
doubles the window (``login_backoff_seconds`` up to ``login_backoff_max_seconds``). While a
window is open every attempt for that username is refused unverified, the right password
included, or the refusal would tell the guesser when they were right. The counter is taken
atomically before the password is checked, so a burst of parallel guesses gets no extra tries.
The cost is that a guesser can delay the real user by at most the maximum window.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache

_FORGET_AFTER_S = 24 * 3600  # a username's count is dropped a day after its last attempt


def _keys(username: str) -> tuple[str, str]:
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return f"login-attempts:{digest}", f"login-window:{digest}"


def _window_s(attempts: int) -> int:
    security = settings.CONFIG.security
    doublings = max(0, attempts - security.login_failures)
    return int(
        min(security.login_backoff_max_seconds, security.login_backoff_seconds * 2**doublings)
    )


def begin(username: str) -> int:
    """Before checking a password: 0 to go ahead, else the seconds to wait (attempt refused)."""
    attempts_key, window_key = _keys(username)
    cache.add(attempts_key, 0, timeout=_FORGET_AFTER_S)
    try:
        attempts = cache.incr(attempts_key)
    except ValueError:  # expired between add and incr
        cache.add(attempts_key, 1, timeout=_FORGET_AFTER_S)
        attempts = 1
    cache.touch(attempts_key, timeout=_FORGET_AFTER_S)
    if attempts <= settings.CONFIG.security.login_failures:
        return 0
    until = time.time() + _window_s(attempts)
    if cache.add(window_key, until, timeout=math.ceil(until - time.time())):
        return 0  # this attempt takes the one try the window allows
    cache.decr(attempts_key)  # refused unverified: it tested no password
    opened_until = cache.get(window_key)
    remaining = (float(opened_until) if opened_until else until) - time.time()
    return max(1, math.ceil(remaining))


def failed(username: str) -> None:
    """After a wrong password: past the free attempts, the next window starts now."""
    attempts_key, window_key = _keys(username)
    attempts = int(cache.get(attempts_key) or 0)
    if attempts >= settings.CONFIG.security.login_failures:
        wait = _window_s(attempts)
        cache.set(window_key, time.time() + wait, timeout=wait)


def succeeded(username: str) -> None:
    cache.delete_many(list(_keys(username)))
