"""Pure: a DICOMweb query string read as the client meant it, and written so Orthanc reads the same.

Reading (``parse``): the raw query string is split on ``&`` and each side of the first ``=`` is
percent-decoded as ``application/x-www-form-urlencoded`` (``+`` is a space), strictly: a stray
``%``, bytes that are not UTF-8, a field without ``=`` or a control character is malformed (400).
Empty fields (``?&a=b``, as Weasis sends) carry nothing and are dropped, as Orthanc drops them.
Order and repetitions are kept: ``includefield`` may repeat, and for a repeated matching key
Orthanc's DICOMweb plugin keeps the last one; the portal passes them on as sent.

Writing (``encode``) depends on how the Orthanc behind nginx reads its query string, because
nginx hands the X-Accel-Redirect arguments to Orthanc byte for byte:

- ``Dialect.VERBATIM``: no percent-decoding at all (Orthanc 1.9.8 to 1.12.9 linked with civetweb
  1.15+, e.g. Debian 12's Orthanc 1.10.1): ``%2A`` stays the three characters ``%2A``, which is
  why re-encoding ``*`` and ``^`` broke every wildcard and person-name search.
- ``Dialect.DECODED``: civetweb decodes the whole query string (``+`` as a space) before Orthanc
  splits it on ``&`` (Orthanc 1.12.10 and later).

Characters in ``PLAIN`` mean the same in both and are written literally, so the usual query
(keywords, tags, UIDs, dates, ``*``, ``?``, ``^``, ``,``) needs no knowledge of the dialect. Any
other character is written for the dialect; what the dialect cannot carry (``&`` inside a value
in both; a space, ``#``, ``"``, ``<``, ``>`` or non-ASCII character when VERBATIM) raises
``Unrepresentable`` rather than reaching Orthanc with another meaning.
"""

from __future__ import annotations

import re
import string
from urllib.parse import quote, unquote_plus

from archive.dialect import Dialect

__all__ = ["Dialect", "Pair", "QueryRefused", "Unrepresentable", "encode", "needs_dialect", "parse"]

Pair = tuple[str, str]

MAX_QUERY_LENGTH = 8192
MAX_FIELDS = 200
PLAIN = frozenset(string.ascii_letters + string.digits + "-._~*?^,/:@!$'()=;")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Besides "&": a space ends the request target, "#" starts a fragment, and httpx (the clinician
# path) percent-encodes '"', "<" and ">" in a URL.
_VERBATIM_IMPOSSIBLE = frozenset(' #&"<>')


class QueryRefused(ValueError):  # noqa: N818 - an answer (400), not a fault
    """The query string is malformed."""


class Unrepresentable(ValueError):  # noqa: N818 - an answer (501), not a fault
    """A valid value that the Orthanc behind the portal cannot be sent with the same meaning."""


def _decode(text: str) -> str:
    if _BAD_PERCENT.search(text):
        raise QueryRefused("malformed percent-encoding")
    try:
        decoded = unquote_plus(text, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise QueryRefused("query is not UTF-8") from exc
    if _CONTROL.search(decoded):
        raise QueryRefused("control character in the query")
    return decoded


def parse(raw: str) -> tuple[Pair, ...]:
    """The (key, value) pairs of an undecoded query string, in order."""
    if len(raw) > MAX_QUERY_LENGTH:
        raise QueryRefused("query too long")
    fields = [field for field in raw.split("&") if field]
    if len(fields) > MAX_FIELDS:
        raise QueryRefused("too many query parameters")
    pairs = []
    for field in fields:
        key, equals, value = field.partition("=")
        if not equals:
            raise QueryRefused("query parameter without '='")
        pairs.append((_decode(key), _decode(value)))
    return tuple(pairs)


def needs_dialect(pairs: tuple[Pair, ...]) -> bool:
    """Whether writing these pairs depends on how Orthanc reads its query string."""
    return any(not PLAIN.issuperset(key + value) for key, value in pairs)


def _encode_text(text: str, dialect: Dialect) -> str:
    if PLAIN.issuperset(text):
        return text
    if "&" in text:
        raise Unrepresentable("'&' inside a value cannot reach Orthanc as part of the value")
    if dialect is Dialect.DECODED:
        return quote(text, safe="".join(sorted(PLAIN)), encoding="utf-8")
    if not text.isascii() or _VERBATIM_IMPOSSIBLE.intersection(text):
        raise Unrepresentable(
            "this Orthanc does not percent-decode query strings (Orthanc < 1.12.10 with "
            "civetweb >= 1.15): values with spaces, '#', '\"', '<', '>' or non-ASCII characters "
            "cannot be sent"
        )
    return text


def encode(pairs: tuple[Pair, ...], dialect: Dialect) -> str:
    """The query string that makes Orthanc read exactly ``pairs`` (``encode(parse(q))``)."""
    return "&".join(
        f"{_encode_text(key, dialect)}={_encode_text(value, dialect)}" for key, value in pairs
    )
