"""Adapter (filesystem): the members of an uploaded zip, each copied to its own temporary file.

No member is held in memory: it is copied to disk in 1 MiB pieces while its expanded size and
its expansion ratio are counted, so a zip bomb stops at the first piece past a limit. Any
problem with one member (encrypted, an unknown compression method, corrupt data, a limit) is
that member's refusal; the other members go on. Only a zip that cannot be read at all, or has
more than MAX_MEMBERS members, is refused as a whole (ZipRefused).
"""

from __future__ import annotations

import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

MAX_MEMBERS = 5000
PIECE = 1 << 20
RATIO_FLOOR = 1 << 20  # members expanding to less than this are never bombs
_ENCRYPTED = 0x1  # general-purpose flag bit 0


class ZipRefused(ValueError):  # noqa: N818 - an answer for the whole zip
    pass


@dataclass
class Budget:
    """Bytes the request's zips may still expand to (shared by all its zips)."""

    remaining: int


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    stream: IO[bytes] | None  # the expanded bytes, at offset 0; None when refused
    refusal: str = ""


def is_zip(stream: IO[bytes]) -> bool:
    found = zipfile.is_zipfile(stream)
    stream.seek(0)
    return found


def members(
    stream: IO[bytes], *, temp_dir: str, budget: Budget, max_ratio: int
) -> Iterator[Member]:
    """Each file of the zip in turn; its temporary file is removed once the caller moves on."""
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ZipRefused(f"unreadable zip ({type(exc).__name__})") from exc
    with archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        if len(infos) > MAX_MEMBERS:
            raise ZipRefused(f"zip has more than {MAX_MEMBERS} files")
        for info in infos:
            with tempfile.TemporaryFile(dir=temp_dir) as out:
                refusal = _extract(archive, info, out, budget, max_ratio)
                out.seek(0)
                yield Member(info.filename, None if refusal else out, refusal)


def _extract(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    out: IO[bytes],
    budget: Budget,
    max_ratio: int,
) -> str:
    """Copy one member to ``out``; the reason it was refused, or "" when copied whole."""
    if info.flag_bits & _ENCRYPTED:
        return "encrypted zip member"
    try:
        with archive.open(info) as source:
            refusal, written = _copy(source, out, budget, max_ratio, info.compress_size)
    except NotImplementedError:
        return "unsupported zip compression method"
    except RuntimeError:  # zipfile's "encrypted, password required" for a member it flags late
        return "encrypted zip member"
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        return f"corrupt zip member ({type(exc).__name__})"
    if not refusal:
        budget.remaining -= written
    return refusal


def _copy(
    source: IO[bytes], out: IO[bytes], budget: Budget, max_ratio: int, compressed: int
) -> tuple[str, int]:
    ratio_limit = max(RATIO_FLOOR, max_ratio * max(compressed, 1))
    written = 0
    while piece := source.read(PIECE):
        written += len(piece)
        if written > budget.remaining:
            return "the upload expands beyond PORTAL_UPLOAD_MAX_BYTES", written
        if written > ratio_limit:
            return f"zip member expands more than {max_ratio}:1 (ratio limit)", written
        out.write(piece)
    return "", written
