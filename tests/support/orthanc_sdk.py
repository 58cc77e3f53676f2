"""Test helper (pure): a stand-in for the ``orthanc`` module that orthanc-python gives the plugin.

Only the names the plugin uses (neuronova_plugin.sdk.OrthancModule), recording what is registered
and logged, answering REST calls from a dict. The real module exists only inside Orthanc; the
integration tests run the plugin there.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class OrthancException(Exception):  # noqa: N818 - orthanc-python's name
    """What the SDK raises when a REST call fails."""


class ReceivedInstanceAction(enum.Enum):
    KEEP_AS_IS = 1
    MODIFY = 2
    DISCARD = 3


class ChangeType(enum.Enum):
    ORTHANC_STARTED = 1
    ORTHANC_STOPPED = 2
    STABLE_STUDY = 3
    NEW_INSTANCE = 4


@dataclass
class RecordingOutput:
    """Orthanc's RestOutput: records the one answer a route gives."""

    status: int = 0
    body: bytes = b""
    mime: str = ""
    allowed: str = ""

    def AnswerBuffer(self, body: bytes, mime: str) -> None:
        self.status, self.body, self.mime = 200, body, mime

    def SendHttpStatus(self, status: int, body: bytes) -> None:
        self.status, self.body = status, body

    def SendMethodNotAllowed(self, allowed: str) -> None:
        self.status, self.allowed = 405, allowed


@dataclass
class FakeOrthancSdk:
    configuration: dict[str, Any] = field(default_factory=dict)
    get: dict[str, Any] = field(default_factory=dict)  # uri -> JSON answer, or an exception
    routes: dict[str, Callable[..., None]] = field(default_factory=dict)
    received: list[Callable[[bytes, Any], tuple[Any, bytes | None]]] = field(default_factory=list)
    on_change: list[Callable[[Any, Any, str], None]] = field(default_factory=list)
    logs: list[tuple[str, str]] = field(default_factory=list)
    posted: list[tuple[str, bytes]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    OrthancException = OrthancException
    ReceivedInstanceAction = ReceivedInstanceAction
    ChangeType = ChangeType

    def GetConfiguration(self) -> str:
        return json.dumps(self.configuration)

    def RestApiGet(self, uri: str) -> bytes:
        if uri not in self.get:
            raise OrthancException(f"unknown resource {uri}")
        return json.dumps(self.get[uri]).encode()

    def RestApiPost(self, uri: str, body: bytes) -> bytes:
        self.posted.append((uri, body))
        return b"{}"

    def RestApiDelete(self, uri: str) -> None:
        self.deleted.append(uri)

    def LogInfo(self, message: str) -> None:
        self.logs.append(("info", message))

    def LogWarning(self, message: str) -> None:
        self.logs.append(("warning", message))

    def LogError(self, message: str) -> None:
        self.logs.append(("error", message))

    def RegisterRestCallback(self, uri: str, callback: Callable[..., None]) -> None:
        assert uri not in self.routes, f"{uri} registered twice"
        self.routes[uri] = callback

    def RegisterReceivedInstanceCallback(
        self, callback: Callable[[bytes, Any], tuple[Any, bytes | None]]
    ) -> None:
        self.received.append(callback)

    def RegisterOnChangeCallback(self, callback: Callable[[Any, Any, str], None]) -> None:
        self.on_change.append(callback)

    def call(self, uri: str, method: str = "GET", **request: Any) -> RecordingOutput:
        """Call the route registered for the regex ``uri`` as Orthanc would."""
        output = RecordingOutput()
        self.routes[uri](output, uri, method=method, **request)
        return output

    def errors(self) -> list[str]:
        return [message for level, message in self.logs if level == "error"]
