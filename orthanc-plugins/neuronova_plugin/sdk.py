"""Adapter (the Orthanc SDK): the ``orthanc`` module that ``entry.py`` passes in, behind a Protocol.

Nothing in the package imports ``orthanc``: the entry script hands the module to
:func:`neuronova_plugin.plugin.register`, and tests hand it a fake with the same names
(tests/unit/plugin/fake_sdk.py). This module turns it into the :class:`PluginHost` the features
use, and adapts pure route handlers to Orthanc's REST callbacks.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any, Protocol

from neuronova_plugin.host import HostError, Request, Response

Handler = Callable[[Request], Response]


class OrthancModule(Protocol):
    """The names of the ``orthanc`` module (orthanc-python 7.1) that the plugin uses."""

    @property
    def OrthancException(self) -> type[Exception]: ...  # noqa: N802

    @property
    def ReceivedInstanceAction(self) -> Any: ...  # noqa: ANN401, N802 - KEEP_AS_IS, MODIFY

    @property
    def ChangeType(self) -> Any: ...  # noqa: ANN401, N802 - ORTHANC_STARTED/STOPPED, STABLE_STUDY

    def GetConfiguration(self) -> str: ...  # noqa: N802

    def RestApiGet(self, uri: str) -> bytes: ...  # noqa: N802

    def RestApiPost(self, uri: str, body: bytes) -> bytes: ...  # noqa: N802

    def RestApiDelete(self, uri: str) -> None: ...  # noqa: N802

    def LogInfo(self, message: str) -> None: ...  # noqa: N802

    def LogWarning(self, message: str) -> None: ...  # noqa: N802

    def LogError(self, message: str) -> None: ...  # noqa: N802

    def RegisterRestCallback(self, uri: str, callback: Callable[..., None]) -> None: ...  # noqa: N802

    def RegisterReceivedInstanceCallback(  # noqa: N802
        self, callback: Callable[[bytes, Any], tuple[Any, bytes | None]]
    ) -> None: ...

    def RegisterOnChangeCallback(  # noqa: N802
        self, callback: Callable[[Any, Any, str], None]
    ) -> None: ...


class RestOutput(Protocol):
    """The part of Orthanc's RestOutput object the routes use."""

    def AnswerBuffer(self, body: bytes, mime: str) -> None: ...  # noqa: N802

    def SendHttpStatus(self, status: int, body: bytes) -> None: ...  # noqa: N802

    def SendMethodNotAllowed(self, allowed: str) -> None: ...  # noqa: N802


class OrthancHost:
    """The PluginHost Protocol on the ``orthanc`` module.

    ``rest_post("/instances")`` stores the SEG in-process. That needs orthanc.json's
    ``Python.AllowThreads``: with the GIL held during SDK calls, the store waits for the plugin
    engine's mutex while a concurrent C-STORE holds that mutex and waits for the GIL in our
    received-instance callback (tests/integration/ai/test_store_under_ingest.py).
    """

    def __init__(self, sdk: OrthancModule) -> None:
        self.sdk = sdk

    def rest_get(self, uri: str) -> bytes:
        try:
            return bytes(self.sdk.RestApiGet(uri))
        except self.sdk.OrthancException as exc:
            raise HostError(f"GET {uri}: {exc}") from exc

    def rest_post(self, uri: str, body: bytes) -> bytes:
        try:
            return bytes(self.sdk.RestApiPost(uri, body))
        except self.sdk.OrthancException as exc:
            raise HostError(f"POST {uri}: {exc}") from exc

    def rest_delete(self, uri: str) -> None:
        try:
            self.sdk.RestApiDelete(uri)
        except self.sdk.OrthancException as exc:
            raise HostError(f"DELETE {uri}: {exc}") from exc

    def log_info(self, message: str) -> None:
        self.sdk.LogInfo(f"NeuroNova: {message}")

    def log_warning(self, message: str) -> None:
        self.sdk.LogWarning(f"NeuroNova: {message}")

    def log_error(self, message: str) -> None:
        self.sdk.LogError(f"NeuroNova: {message}")


def _answer(output: RestOutput, response: Response) -> None:
    if response.status == 200:
        output.AnswerBuffer(response.body, response.mime)
    else:
        output.SendHttpStatus(response.status, response.body)


def rest_callback(
    handler: Handler,
    host: OrthancHost,
    on_error: Callable[[], None],
    methods: tuple[str, ...] = ("GET",),
) -> Callable[..., None]:
    """Orthanc's REST callback for a pure handler; an exception becomes a logged, counted 500."""

    def callback(output: RestOutput, uri: str, **request: Any) -> None:  # noqa: ANN401
        method = str(request.get("method", "GET"))
        if method not in methods:
            output.SendMethodNotAllowed(",".join(methods))
            return
        try:
            response = handler(
                Request(
                    method=method,
                    groups=tuple(request.get("groups") or ()),
                    query=dict(request.get("get") or {}),
                    headers={k.lower(): v for k, v in (request.get("headers") or {}).items()},
                    body=bytes(request.get("body") or b""),
                )
            )
        except Exception:  # noqa: BLE001 - never raise into Orthanc
            host.log_error(f"route {uri} failed:\n{traceback.format_exc()}")
            on_error()
            response = Response.error(500, "NeuroNova plugin error (see Orthanc log)")
        _answer(output, response)

    return callback
