"""Wiring: the process's shared Orthanc client, from the portal's settings."""

from __future__ import annotations

from functools import cache

from django.conf import settings

from archive.orthanc import OrthancClient


@cache
def orthanc() -> OrthancClient:
    config = settings.CONFIG
    return OrthancClient(config.orthanc_url, config.orthanc_username, config.orthanc_password)


def new_client() -> OrthancClient:
    """A client of its own, for a task or command that closes it when done."""
    config = settings.CONFIG
    return OrthancClient(config.orthanc_url, config.orthanc_username, config.orthanc_password)
