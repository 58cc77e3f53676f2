"""Test helper (wiring): the inference HTTP service (the AI core) as a process on a spare port.

The Celery workers of the AI tests ask it to segment (neuronova_inference.core_client), as
supervisord's `inference` program serves `inference-worker` in the native run.
"""

from __future__ import annotations

import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.deployables import REPO, python_path
from tests.support.orthanc import free_port


@dataclass
class InferenceService:
    env: dict[str, str]
    log: Path
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    port: int = field(default_factory=free_port)  # known before start: workers are told it
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client_env(self) -> dict[str, str]:
        """What a worker needs to reach this service."""
        return {"INFERENCE_URL": self.url, "INFERENCE_API_TOKEN": self.token}

    def start(self, timeout_s: float = 120) -> InferenceService:
        env = {**self.env, "PYTHONPATH": python_path("inference"), **self.client_env()}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "uvicorn", "neuronova_inference.api:app"),
                    *("--host", "127.0.0.1", "--port", str(self.port), "--no-access-log"),
                ],
                env=env,
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the inference service did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
