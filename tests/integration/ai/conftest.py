"""Fixtures for the AI pipeline against real processes: a private redis-server, Orthanc with the
plugin (StableAge 1), the inference service and a Celery inference worker that asks it, all on
spare ports in a tmp dir, stopped after.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from neuronova_contracts.jobs import FINAL_STATES
from neuronova_lab.synthetic.dicom import to_bytes
from pydicom.dataset import Dataset

from tests.support.deployables import python_path
from tests.support.inference_service import InferenceService
from tests.support.orthanc import OrthancProcess
from tests.support.processes import stop_group
from tests.support.redis_server import RedisServer
from tests.support.tools import require_tool

REPO = Path(__file__).resolve().parents[3]
VENV_BIN = Path(sys.executable).parent
FINAL = frozenset(FINAL_STATES)


@dataclass
class Worker:
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(VENV_BIN / "celery"),
                    "-A",
                    "neuronova_inference.worker",
                    "worker",
                    "-Q",
                    "inference",
                    "-n",
                    f"inference-test-{os.getpid()}@%h",
                    "-c",
                    "1",
                    "--without-gossip",
                    "--without-mingle",
                    "--loglevel",
                    "INFO",
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                start_new_session=True,
            )
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        proc, self.proc = self.proc, None
        stop_group(proc, sig)


@dataclass
class Pipeline:
    orthanc: OrthancProcess
    redis: RedisServer
    worker: Worker
    tmp: Path

    def http(self) -> requests.Session:
        return self.orthanc.session()

    def send(self, datasets: list[Dataset], name: str) -> None:
        folder = self.tmp / name
        folder.mkdir(parents=True, exist_ok=True)
        for ds in datasets:
            (folder / f"{ds.SOPInstanceUID}.dcm").write_bytes(to_bytes(ds))
        # On a loaded 2-core machine an association is now and then aborted mid-way; sending
        # again is what a modality does, and instances already stored are simply acknowledged.
        for _ in range(3):
            result = self.orthanc.storescu(*sorted(folder.iterdir()))
            if result.returncode == 0:
                break
        assert result.returncode == 0, result.stderr

    def study_id(self, study_uid: str) -> str | None:
        hits = self.http().post(f"{self.orthanc.url}/tools/lookup", data=study_uid).json()
        return next((h["ID"] for h in hits if h["Type"] == "Study"), None)

    def segs(self, study_uid: str) -> list[str]:
        study = self.study_id(study_uid)
        if study is None:
            return []
        series = self.http().get(f"{self.orthanc.url}/studies/{study}/series").json()
        return [
            i for s in series if s["MainDicomTags"].get("Modality") == "SEG" for i in s["Instances"]
        ]

    def events(self, study_uid: str) -> list[dict[str, Any]]:
        """Job events queued for the portal (no portal worker consumes them in these tests)."""
        out = []
        for raw in self.redis.client().lrange("portal", 0, -1):
            message = json.loads(raw)
            if message["headers"]["task"] != "neuronova.portal.job_event":
                continue
            _, kwargs, _ = json.loads(base64.b64decode(message["body"]))
            if kwargs["study_uid"] == study_uid:
                out.append(kwargs)
        return sorted(out, key=lambda k: k["at"])

    def wait_final(
        self, study_uid: str, timeout_s: float = 180, states: frozenset[str] = FINAL
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            finals = [e for e in self.events(study_uid) if e["state"] in states]
            if finals:
                return finals[-1]
            time.sleep(0.5)
        raise TimeoutError(
            f"no final job event for {study_uid}: {self.events(study_uid)}\n"
            f"{self.worker.log.read_text()[-3000:]}\n{self.orthanc.log_text()[-3000:]}"
        )


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    require_tool("redis-server", "redis-server")
    require_tool("storescu", "dcmtk")
    tmp = tmp_path_factory.mktemp("ai")
    server = RedisServer(tmp).start()
    orthanc = OrthancProcess(
        workdir=tmp / "orthanc",
        neuronova={"RedisUrl": server.url, "AiPollSeconds": 0.5},
        overrides={"StableAge": 1},
    )
    env = dict(
        os.environ,
        PYTHONPATH=python_path("inference"),
        NEURONOVA_REDIS_URL=server.url,
        ORTHANC_URL=orthanc.url,
        ORTHANC_USERNAME=orthanc.auth[0],
        ORTHANC_PASSWORD=orthanc.auth[1],
        NEURONOVA_ONNX_THREADS="1",
        # Short, so the kill-the-worker test sees the job delivered again within the test.
        NEURONOVA_VISIBILITY_TIMEOUT_S="15",
        # A job's lease stays shorter than the visibility timeout (docs/ai.md).
        NEURONOVA_JOB_LEASE_S="6",
    )
    service = InferenceService(env, tmp / "inference.log")
    worker = Worker({**env, **service.client_env()}, tmp / "worker.log")
    try:
        orthanc.start()
        service.start()
        worker.start()
        yield Pipeline(orthanc, server, worker, tmp)
    finally:
        worker.stop()
        service.stop()
        orthanc.stop()
        server.stop()
