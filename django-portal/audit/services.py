"""Adapter (ORM): write audit events; an action that cannot be audited does not happen.

A refusal is recorded best effort (the refusal stands either way). For an allowed action the
audit row is part of the action: if it cannot be written the write failure is logged, counted
(``neuronova_audit_write_failures_total``, alert NeuroNovaAuditWriteFailures) and
``AuditUnavailable`` (503) is raised so the caller refuses instead of acting unaudited.
"""

from __future__ import annotations

import logging
from typing import Protocol

from common.clients import client_ip
from common.metrics import AUDIT_WRITE_FAILURES
from django.db import transaction
from django.http import HttpRequest
from rest_framework.exceptions import APIException

from audit.models import AuditEvent

log = logging.getLogger(__name__)


class Actor(Protocol):
    """Who acted: authz's Principal fits (audit sits below authz, so it names no authz type)."""

    @property
    def user_id(self) -> int: ...
    @property
    def username(self) -> str: ...


class AuditUnavailable(APIException):
    status_code = 503
    default_detail = "the audit trail cannot be written, so the request was refused"
    default_code = "audit_unavailable"


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
    required: bool | None = None,
) -> None:
    """Append one event. ``required`` (default: ``allowed``) makes a failed write raise."""
    try:
        with transaction.atomic():  # a failed insert never poisons the caller's transaction
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
    except Exception as exc:
        AUDIT_WRITE_FAILURES.labels(action[:32]).inc()
        log.exception("audit write failed: %s %s %s", action, username, target)
        if allowed if required is None else required:
            raise AuditUnavailable from exc


def record_for(
    actor: Actor,
    request: HttpRequest | None,
    *,
    action: str,
    allowed: bool,
    target: str = "",
    study_uid: str = "",
    status_code: int = 0,
    detail: str = "",
    required: bool | None = None,
) -> None:
    """``record`` for an authenticated caller: the views' one way to name who acted."""
    record(
        action=action,
        allowed=allowed,
        request=request,
        user_id=actor.user_id,
        username=actor.username,
        target=target,
        study_uid=study_uid,
        status_code=status_code,
        detail=detail,
        required=required,
    )
