"""Wiring: the process's one Authoriser, built from the read sources the apps provide.

accounts provides principals and clinical provides study owners, each from its AppConfig.ready();
authz imports neither, so the apps that authorise (clinical's API, pacs' gateway) depend on
authz and never on each other for it.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings

from authz.authoriser import Authoriser, PrincipalSource, StudySource

_principals: list[PrincipalSource] = []
_studies: list[StudySource] = []


def provide_principals(source: PrincipalSource) -> None:
    _principals[:] = [source]
    authoriser.cache_clear()


def provide_studies(source: StudySource) -> None:
    _studies[:] = [source]
    authoriser.cache_clear()


@cache
def authoriser() -> Authoriser:
    if not _principals or not _studies:
        raise RuntimeError("authz: accounts and clinical must be installed apps (they provide)")
    return Authoriser(
        ttl_s=settings.CONFIG.decision_cache_seconds,
        principals=_principals[0],
        studies=_studies[0],
    )
