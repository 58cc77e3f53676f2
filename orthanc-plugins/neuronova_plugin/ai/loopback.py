"""Adapter: store an instance through Orthanc's own HTTP port instead of ``orthanc.RestApiPost``.

Decision (issue 4, the "stall" while storing a SEG): a nested store from Python deadlocks on
Orthanc 1.10.1 with the Python plugin 4.0 (Debian 12's packages).
- Orthanc's store path calls ``OrthancPlugins::ApplyReceivedInstanceCallbacks``, which holds the
  plugin engine's ``invokeServiceMutex_`` while it runs our received-instance callback, and that
  callback first waits for Python's GIL.
- Plugin 4.0 keeps the GIL during every SDK call (releasing it came with plugin 4.3's
  "AllowThreads", 2024). A REST callback that calls ``orthanc.RestApiPost("/instances")`` holds
  the GIL and then waits for ``invokeServiceMutex_`` inside that same store path.
- One C-STORE arriving at that moment holds the mutex and waits for the GIL: neither thread moves
  again, every later association times out (reproduced by
  tests/integration/ai/test_store_under_ingest.py).
A socket call releases the GIL, so storing over loopback HTTP lets the store run on one of
Orthanc's HTTP threads, which takes the mutex and then the GIL like any other upload. Reads
(``RestApiGet``, ``/tools/lookup``) and deletes never take that mutex and stay in-process.
"""

from __future__ import annotations

import base64
import http.client
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from neuronova_plugin.host import HostError

TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class LoopbackStore:
    port: int
    authorization: str | None  # a Basic header value, or None where authentication is off
    timeout_s: float = TIMEOUT_S

    @classmethod
    def from_orthanc_config(cls, config: Mapping[str, Any]) -> LoopbackStore:
        """Orthanc's HTTP port and the first registered user (the stack registers exactly one)."""
        users = config.get("RegisteredUsers") or {}
        authorization = None
        if config.get("AuthenticationEnabled", True) and users:
            user, password = next(iter(users.items()))
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            authorization = f"Basic {token}"
        return cls(port=int(config.get("HttpPort", 8042)), authorization=authorization)

    def store(self, dicom: bytes) -> bytes:
        """``POST /instances``; returns Orthanc's JSON answer, raises HostError otherwise."""
        headers = {"Content-Type": "application/dicom", "Expect": ""}
        if self.authorization:
            headers["Authorization"] = self.authorization
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout_s)
        try:
            connection.request("POST", "/instances", body=dicom, headers=headers)
            response = connection.getresponse()
            body = response.read()
        except OSError as exc:
            raise HostError(f"POST /instances over loopback: {exc!r}") from exc
        finally:
            connection.close()
        if response.status != 200:
            text = body[:300].decode("utf-8", "replace")
            raise HostError(f"POST /instances over loopback: HTTP {response.status} {text}")
        return body
