"""Pure: the Protocols through which plugin code reaches Orthanc, and the HTTP answer value.

``neuronova_plugin.sdk`` implements :class:`PluginHost` on the ``orthanc`` module; tests
implement it with fakes. Nothing in the package imports ``orthanc``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


class HostError(Exception):
    """A call into Orthanc's REST API failed (unknown resource, bad request...)."""


class PluginHost(Protocol):
    """What plugin features need from Orthanc: its built-in REST API and its log."""

    def rest_get(self, uri: str) -> bytes:
        """GET on Orthanc's built-in REST API (plugin routes bypassed); raises HostError."""
        ...

    def rest_post(self, uri: str, body: bytes) -> bytes:
        """POST on Orthanc's built-in REST API (``/tools/lookup``, ``/instances``)."""
        ...

    def rest_delete(self, uri: str) -> None: ...

    def log_info(self, message: str) -> None: ...

    def log_warning(self, message: str) -> None: ...

    def log_error(self, message: str) -> None: ...


def get_json(host: PluginHost, uri: str) -> Any:  # noqa: ANN401 - JSON
    return json.loads(host.rest_get(uri))


@dataclass(frozen=True, slots=True)
class Request:
    """A REST call to a plugin route, as the entry script receives it."""

    method: str
    groups: tuple[str, ...] = ()
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class Response:
    """What a plugin route answers; ``neuronova_plugin.sdk`` turns it into Orthanc output calls."""

    status: int
    body: bytes = b""
    mime: str = "text/plain"

    @staticmethod
    def error(status: int, message: str) -> Response:
        return Response(status, message.encode(), "text/plain")
