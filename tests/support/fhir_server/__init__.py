"""Test helper: start the in-memory FHIR R4 server (server.mjs, Medplum's router) on a spare port.

    with FhirTestServer.start() as fhir:
        fhir.base_url            # http://127.0.0.1:PORT/fhir
        fhir.fail(status=500, count=2)   # the next two FHIR requests answer 500
        fhir.reset(); fhir.stats()

`node_modules` is installed from the lockfile (`npm ci`) on first use when missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
READY_TIMEOUT_S = 60.0


def ensure_installed() -> None:
    if (HERE / "node_modules" / "@medplum" / "fhir-router").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed to install the test FHIR server")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True, capture_output=True
    )


@dataclass
class FhirTestServer:
    root_url: str
    process: subprocess.Popen[str]
    admin_token: str = ""

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/fhir"

    @property
    def token_url(self) -> str:
        return f"{self.root_url}/oauth2/token"

    def fail(self, *, status: int, count: int) -> None:
        httpx.post(f"{self.root_url}/_control/fail", json={"status": status, "count": count})

    def reset(self) -> None:
        httpx.post(f"{self.root_url}/_control/reset").raise_for_status()

    def stats(self) -> dict[str, int]:
        data: dict[str, int] = httpx.get(f"{self.root_url}/_control/stats").json()
        return data

    def search(self, resource_type: str, **params: str) -> list[dict[str, Any]]:
        """Every resource of a search (test servers are small: one page of 1000)."""
        headers = {"Authorization": f"Bearer {self.admin_token}"} if self.admin_token else {}
        answer = httpx.get(
            f"{self.base_url}/{resource_type}",
            params={**params, "_count": "1000"},
            headers=headers,
        )
        answer.raise_for_status()
        return [entry["resource"] for entry in answer.json().get("entry", [])]

    def history(self, resource_type: str, resource_id: str) -> list[dict[str, Any]]:
        headers = {"Authorization": f"Bearer {self.admin_token}"} if self.admin_token else {}
        answer = httpx.get(
            f"{self.base_url}/{resource_type}/{resource_id}/_history", headers=headers
        )
        answer.raise_for_status()
        return [entry["resource"] for entry in answer.json().get("entry", [])]

    @classmethod
    @contextmanager
    def start(
        cls, *, token: str = "", client_id: str = "", client_secret: str = "", host: str = ""
    ) -> Iterator[FhirTestServer]:
        """``host``: the address to listen on (default loopback; containers need another)."""
        ensure_installed()
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is needed to run the test FHIR server")
        command = [node, str(HERE / "server.mjs"), "--port", "0"]
        if host:
            command += ["--host", host]
        if token:
            command += ["--token", token]
        if client_id:
            command += ["--client-id", client_id, "--client-secret", client_secret]
        process = subprocess.Popen(command, cwd=HERE, stdout=subprocess.PIPE, text=True)
        try:
            port = _read_port(process)
            server = cls(root_url=f"http://{host or '127.0.0.1'}:{port}", process=process)
            server.admin_token = token
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def _read_port(process: subprocess.Popen[str]) -> int:
    """Wait for the server's ready line; a watchdog kills it if it never comes."""
    assert process.stdout is not None
    watchdog = threading.Timer(READY_TIMEOUT_S, process.kill)
    watchdog.start()
    try:
        line = process.stdout.readline()
    finally:
        watchdog.cancel()
    if not line:
        raise RuntimeError(f"FHIR test server exited before listening (rc={process.poll()})")
    return int(json.loads(line)["port"])
