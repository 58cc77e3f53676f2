"""Pure: how an Orthanc reads query strings (probed by archive.orthanc, used by pacs.query)."""

from __future__ import annotations

from enum import Enum


class Dialect(Enum):
    VERBATIM = "verbatim"
    DECODED = "decoded"
