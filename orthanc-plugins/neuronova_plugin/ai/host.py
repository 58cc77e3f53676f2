"""Pure: what the AI feature needs from Orthanc (a superset of neuronova_plugin.host.PluginHost)."""

from __future__ import annotations

import json
from typing import Any, Protocol


class AiHost(Protocol):
    def rest_get(self, uri: str) -> bytes:
        """GET on Orthanc's built-in REST API; raises neuronova_plugin.host.HostError."""
        ...

    def rest_post(self, uri: str, body: bytes) -> bytes:
        """POST on Orthanc's built-in REST API (``/tools/lookup``, ``/instances``)."""
        ...

    def rest_delete(self, uri: str) -> None: ...

    def log_info(self, message: str) -> None: ...

    def log_warning(self, message: str) -> None: ...

    def log_error(self, message: str) -> None: ...


def get_json(host: AiHost, uri: str) -> Any:  # noqa: ANN401 - JSON
    return json.loads(host.rest_get(uri))
