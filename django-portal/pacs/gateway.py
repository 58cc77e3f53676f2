"""Wiring: who the image gateway's caller is and whether they may read the study.

Authentication here bypasses DRF's request machinery on purpose (the frame path must stay cheap)
but makes exactly the API's token check (accounts.verifier, with its per-process caches); then
authz's cached Authoriser decides, and pacs.lookup finds the resources inside the exact study
allowed; pacs.accel builds the answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from accounts import verifier
from accounts.authentication import raw_token
from audit import services as audit
from authz.identity import StudyRef
from authz.principal import Principal
from authz.wiring import authoriser
from django.http import HttpRequest
from rest_framework_simplejwt.tokens import AccessToken

from pacs import lookup, query
from pacs.refusal import Refused

_QUERY_KEY = re.compile(r"\A[A-Za-z0-9_.]{1,64}\Z")


@dataclass(frozen=True, slots=True)
class Caller:
    token: AccessToken
    principal: Principal

    @property
    def token_id(self) -> str:
        return str(self.token["jti"])


def clear_caches() -> None:
    lookup.clear_caches()
    authoriser().clear()


def authenticate(request: HttpRequest) -> Caller:
    """The caller, by the same access-token check as the API (accounts.verifier)."""
    token_text, _from_cookie = raw_token(request)
    if not token_text:
        raise Refused(401, "no token")
    try:
        verified = verifier.verify_access(token_text)
    except verifier.TokenRefused as refused:
        raise Refused(401, refused.reason) from refused
    principal = authoriser().principal(verified.user_id)
    if principal is None or not principal.active:
        raise Refused(401, "user inactive or gone")
    return Caller(token=verified.token, principal=principal)


def authorise(request: HttpRequest, caller: Caller, study_uid: str, target: str) -> StudyRef:
    """The exact study the caller may read under this UID; audited when decided afresh."""
    decision = authoriser().may_read(
        cache_key=caller.token_id, principal=caller.principal, study_uid=study_uid
    )
    if decision.fresh or not decision.allowed:
        try:
            audit.record(
                action="image-access",
                allowed=decision.allowed,
                request=request,
                user_id=caller.principal.user_id,
                username=caller.principal.username,
                target=target,
                study_uid=study_uid,
                status_code=200 if decision.allowed else 403,
                detail=decision.reason,
            )
        except audit.AuditUnavailable:
            authoriser().clear()  # an unaudited "allowed" must not be served from the cache
            raise
    if not decision.allowed:
        raise Refused(403, decision.reason)
    return decision.study or lookup.archive_study(study_uid)


def query_pairs(request: HttpRequest) -> tuple[query.Pair, ...]:
    """The client's query string as (key, value) pairs, decoded strictly (400 if malformed)."""
    try:
        return query.parse(str(request.META.get("QUERY_STRING", "")))
    except query.QueryRefused as exc:
        raise Refused(400, str(exc)) from exc


def plain_keys(pairs: tuple[query.Pair, ...]) -> tuple[query.Pair, ...]:
    """Non-search routes (retrieve, metadata, rendered): any parameter, with a sane key."""
    if not all(_QUERY_KEY.match(key) for key, _ in pairs):
        raise Refused(400, "bad query parameter")
    return pairs
