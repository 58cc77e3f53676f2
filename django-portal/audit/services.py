"""Adapter (ORM): write audit events. Never raises into the request that is being audited."""

from __future__ import annotations

import logging

from django.http import HttpRequest

from audit.models import AuditEvent

log = logging.getLogger(__name__)


def client_ip(request: HttpRequest) -> str:
    """The client's address; behind the local nginx, its X-Real-IP (loopback peers only)."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    if remote in {"127.0.0.1", "::1"}:
        forwarded = str(request.META.get("HTTP_X_REAL_IP", "")).strip()
        if forwarded:
            return forwarded[:64]
    return remote[:64]


def record(
    *,
    action: str,
    allowed: bool,
    request: HttpRequest | None = None,
    user_id: int | None = None,
    username: str = "",
    target: str = "",
    study_uid: str = "",
    status_code: int = 0,
    detail: str = "",
) -> None:
    try:
        AuditEvent.objects.create(
            action=action,
            allowed=allowed,
            user_id=user_id,
            username=username[:150],
            target=target[:300],
            study_uid=study_uid[:64],
            status_code=status_code,
            client_ip=client_ip(request) if request is not None else "",
            detail=detail[:300],
        )
    except Exception:  # an audit failure is logged loudly but must not turn a read into a 500
        log.exception("audit write failed: %s %s %s", action, username, target)
