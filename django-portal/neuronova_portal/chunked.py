"""Wiring: WSGI middleware that gives Django chunked request bodies (no Content-Length).

Django reads exactly CONTENT_LENGTH bytes of a request body, so a chunked upload (a client
streaming a file of unknown size; nginx passes it on as is with proxy_request_buffering off)
reached the views empty. Here such a body is copied to a temporary file on disk (in memory only
below 1 MiB), up to a cap, and handed to Django with its real length; over the cap the request
is answered 413 before Django sees it. The file is removed when the answer has been sent.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_PIECE = 1 << 20


class _Closing:
    """The app's answer, closing the spooled body after the server closes the answer."""

    def __init__(self, answer: Iterable[bytes], spool: IO[bytes]) -> None:
        self._answer = answer
        self._spool = spool

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._answer)

    def close(self) -> None:
        try:
            close = getattr(self._answer, "close", None)
            if close is not None:
                close()
        finally:
            self._spool.close()


def _too_large(start_response: Callable[..., Any]) -> list[bytes]:
    body = json.dumps({"detail": "request body too large"}).encode()
    start_response(
        "413 Request Entity Too Large",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


class ChunkedBodies:
    def __init__(
        self, app: WSGIApp, *, cap_for: Callable[[str], int], temp_dir: Callable[[], str]
    ) -> None:
        self._app = app
        self._cap_for = cap_for  # path → largest body accepted
        self._temp_dir = temp_dir

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        chunked = "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()
        if not chunked or environ.get("CONTENT_LENGTH"):
            return self._app(environ, start_response)
        cap = self._cap_for(str(environ.get("PATH_INFO", "")))
        # closed with the answer (_Closing), after the server has sent it
        spool = tempfile.SpooledTemporaryFile(max_size=_PIECE, dir=self._temp_dir())  # noqa: SIM115
        size = 0
        source = environ["wsgi.input"]
        while piece := source.read(_PIECE):
            size += len(piece)
            if size > cap:
                spool.close()
                return _too_large(start_response)
            spool.write(piece)
        spool.seek(0)
        environ["wsgi.input"] = spool
        environ["CONTENT_LENGTH"] = str(size)
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return _Closing(self._app(environ, start_response), spool)
