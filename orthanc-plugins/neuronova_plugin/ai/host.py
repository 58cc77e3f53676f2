"""Pure: what the AI feature needs from Orthanc (a superset of neuronova_plugin.host.PluginHost)."""

from __future__ import annotations

import json
from typing import Any, Protocol


class AiHost(Protocol):
    def rest_get(self, uri: str) -> bytes:
        """GET on Orthanc's built-in REST API; raises neuronova_plugin.host.HostError."""
        ...

    def rest_post(self, uri: str, body: bytes) -> bytes:
        """POST that reads only (``/tools/lookup``): never one that stores an instance."""
        ...

    def store_instance(self, dicom: bytes) -> bytes:
        """Store a DICOM file as ``POST /instances`` would; returns Orthanc's JSON answer.

        Deliberately not ``rest_post("/instances")`` from plugin code: see the adapter in
        entry.py (Orthanc 1.10 + Python plugin 4.0 deadlock on a nested store).
        """
        ...

    def rest_delete(self, uri: str) -> None: ...

    def log_info(self, message: str) -> None: ...

    def log_warning(self, message: str) -> None: ...

    def log_error(self, message: str) -> None: ...


def get_json(host: AiHost, uri: str) -> Any:  # noqa: ANN401 - JSON
    return json.loads(host.rest_get(uri))
