"""Test helper (wiring): a NeuroNova cluster on one machine, as docs/scaling.md deploys it.

N Orthanc replicas (the plugin, the codec) on one PostgreSQL index (a scratch database on the
machine's server) and one shared storage folder, behind one DICOM entry (nginx's stream module,
``stack.dicom_entry``, the sender registered as the stack registers a modality), publishing to
one private Redis, consumed by M inference workers.

    with running_cluster(tmp_path, replicas=2, workers=2) as c:
        c.entry_port; c.replicas[0].url; c.jobs(); c.events(study_uid); c.kill_leader()
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from pydicom.dataset import Dataset
from pynetdicom import AE

from stack import modalities
from stack.dicom_entry import STREAM_MODULE, entry_block, entry_modalities, stream_block
from tests.support.deployables import python_path
from tests.support.inference_service import InferenceService
from tests.support.orthanc import SCU_AET, OrthancProcess, free_port
from tests.support.postgres import ScratchDatabase, scratch_database
from tests.support.processes import stop_group
from tests.support.redis_server import RedisServer

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SEGMENT = "neuronova.inference.segment_study"


@dataclass
class Entry:
    """nginx in front of the replicas: the modalities' one DICOM address (``stream {}``) and the
    one HTTP upstream the workers (and, in the stack, X-Accel) use."""

    workdir: Path
    replicas: Sequence[OrthancProcess]
    # The registered modalities (stack.modalities): the entry then checks them as the stack's
    # does; None lets every address through to the replicas' own checks.
    modalities: Mapping[str, Mapping[str, Any]] | None = None
    port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> Entry:
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "nginx.conf"
        listen, log = f"127.0.0.1:{self.port}", str(self.workdir / "access.log")
        replicas = [f"127.0.0.1:{r.dicom_port}" for r in self.replicas]
        # Round robin (balance ""): concurrent associations alternate between the replicas.
        block = (
            stream_block(listen=listen, replicas=replicas, balance="", log=log)
            if self.modalities is None
            else entry_block(
                listen=listen, replicas=replicas, modalities=self.modalities, balance="", log=log
            )
        )
        conf.write_text(
            f"load_module {STREAM_MODULE};\n"
            f"pid {self.workdir}/nginx.pid;\nerror_log {self.workdir}/error.log info;\n"
            "daemon off;\nworker_processes 1;\nevents { worker_connections 256; }\n"
            + block
            + _http_block(self.workdir, self.http_port, [r.http_port for r in self.replicas])
        )
        self.proc = subprocess.Popen(
            ["nginx", "-c", str(conf), "-p", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                import socket  # noqa: PLC0415

                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return self
            time.sleep(0.05)
        raise TimeoutError(f"DICOM entry did not listen:\n{self.log()}")

    def log(self) -> str:
        with contextlib.suppress(FileNotFoundError):
            return (self.workdir / "error.log").read_text()
        return ""

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            proc.wait(20)


def _http_block(workdir: Path, port: int, replicas: Sequence[int]) -> str:
    servers = "".join(
        f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;\n" for p in replicas
    )
    return (
        "http {\n"
        f"    access_log {workdir}/http-access.log;\n"
        # Streamed both ways: nginx's workers (nobody) cannot write temp files in the workdir.
        "    client_max_body_size 0;\n"
        "    proxy_request_buffering off;\n"
        "    proxy_buffering off;\n"
        f"    upstream neuronova_orthanc {{\n{servers}        keepalive 8;\n    }}\n"
        f"    server {{\n        listen 127.0.0.1:{port};\n"
        "        location / {\n"
        "            proxy_pass http://neuronova_orthanc;\n"
        "            proxy_http_version 1.1;\n"
        '            proxy_set_header Connection "";\n'
        "            proxy_next_upstream error timeout;\n"
        "            proxy_read_timeout 300s;\n"
        "        }\n    }\n}\n"
    )


@dataclass
class InferenceWorker:
    name: str
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> InferenceWorker:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    *(str(VENV_BIN / "celery"), "-A", "neuronova_inference.worker", "worker"),
                    *("-Q", "inference", "-n", f"{self.name}@%h", "-c", "1"),
                    *("--without-gossip", "--without-mingle", "--loglevel", "INFO"),
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                start_new_session=True,
            )
        return self

    def pids(self) -> set[int]:
        """The main process and its pool child (the one that runs the job)."""
        if self.proc is None:
            return set()
        out = subprocess.run(
            ["ps", "-o", "pid=", "-g", str(self.proc.pid)],
            check=False,
            capture_output=True,
            text=True,
        )
        return {int(p) for p in out.stdout.split()}

    def stop(self, sig: int = signal.SIGTERM) -> None:
        proc, self.proc = self.proc, None
        stop_group(proc, sig)


@dataclass
class Cluster:
    tmp: Path
    db: ScratchDatabase
    redis: RedisServer
    replicas: list[OrthancProcess]
    entry: Entry
    workers: list[InferenceWorker]

    @property
    def alive(self) -> list[OrthancProcess]:
        return [r for r in self.replicas if r.is_alive()]

    def http(self) -> tuple[requests.Session, str]:
        """A session on a live replica (any one: they share the index and storage)."""
        replica = self.alive[0]
        return replica.session(), replica.url

    def status(self, replica: OrthancProcess) -> dict[str, Any]:
        answer = replica.session().get(f"{replica.url}/neuronova/ai/status", timeout=10)
        result: dict[str, Any] = answer.json()
        return result

    def leader(self) -> OrthancProcess | None:
        for replica in self.alive:
            with contextlib.suppress(requests.RequestException, ValueError):
                if self.status(replica)["leader"]:
                    return replica
        return None

    def wait_leader(self, timeout_s: float = 60) -> OrthancProcess:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            leader = self.leader()
            if leader is not None:
                return leader
            time.sleep(0.2)
        raise TimeoutError("no replica leads the AI jobs")

    def jobs(self) -> list[dict[str, Any]]:
        """Every segmentation job ever published, from the shared outbox (one row per key)."""
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT kwargs FROM neuronova.outbox WHERE task = %s ORDER BY id", (SEGMENT,)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def events(self, study_uid: str | None = None) -> list[dict[str, Any]]:
        """Job events queued for the portal (no portal worker consumes them here)."""
        out = []
        for raw in self.redis.client().lrange("portal", 0, -1):
            message = json.loads(raw)
            if message["headers"]["task"] != "neuronova.portal.job_event":
                continue
            _, kwargs, _ = json.loads(base64.b64decode(message["body"]))
            if study_uid is None or kwargs["study_uid"] == study_uid:
                out.append(kwargs)
        return sorted(out, key=lambda k: k["at"])

    def wait_done(self, study_uids: Sequence[str], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            finals = {e["study_uid"] for e in self.events() if e["state"] in {"done", "failed"}}
            if set(study_uids) <= finals:
                return
            time.sleep(1)
        logs = "\n".join(w.log.read_text()[-2000:] for w in self.workers)
        raise TimeoutError(f"not all done: {self.events()}\n{logs}")


def send(port: int, datasets: Sequence[Dataset], *, aet: str = "NEURONOVA") -> tuple[set[str], str]:
    """C-STORE over one association as a modality does; (SOP UIDs acknowledged, error)."""
    ae = AE(ae_title=SCU_AET)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 60
    for sop_class in {str(ds.SOPClassUID) for ds in datasets}:
        ae.add_requested_context(sop_class, ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"])
    acknowledged: set[str] = set()
    assoc = ae.associate("127.0.0.1", port, ae_title=aet)
    if not assoc.is_established:
        return acknowledged, "association refused or aborted"
    try:
        for ds in datasets:
            status = assoc.send_c_store(ds)
            if not status or int(status.get("Status", -1)) != 0:
                return acknowledged, f"store of {ds.SOPInstanceUID} failed: {status}"
            acknowledged.add(str(ds.SOPInstanceUID))
    finally:
        if assoc.is_established:
            assoc.release()
    return acknowledged, ""


def send_all(port: int, datasets: Sequence[Dataset], attempts: int = 3) -> set[str]:
    """What a modality does: send, then send again what was not acknowledged (on a loaded 2-core
    machine an association is now and then aborted mid-way). The SOP UIDs acknowledged."""
    acknowledged: set[str] = set()
    for _ in range(attempts):
        rest = [ds for ds in datasets if str(ds.SOPInstanceUID) not in acknowledged]
        if not rest:
            break
        acked, _ = send(port, rest)
        acknowledged |= acked
    return acknowledged


@contextlib.contextmanager
def running_cluster(
    tmp: Path,
    *,
    replicas: int = 2,
    workers: int = 2,
    stable_age_s: int = 3,
    lease_s: int = 6,
) -> Iterator[Cluster]:
    storage = tmp / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    # The sender is a registered modality behind the entry, as the stack renders it: the entry
    # lets in its host only and the replicas know it at the entry's source address for it.
    registered = {SCU_AET: modalities.entry(SCU_AET, "127.0.0.1")}
    with contextlib.ExitStack() as stack:
        db = stack.enter_context(scratch_database())
        redis_server = RedisServer(tmp).start()
        stack.callback(redis_server.stop)
        nodes = [
            OrthancProcess(
                workdir=tmp / f"orthanc-{n}",
                postgres=db.orthanc_section(),
                shared=(storage,),
                neuronova={"RedisUrl": redis_server.url, "AiPollSeconds": 0.5},
                overrides={"StableAge": stable_age_s, "StorageDirectory": str(storage)},
                modalities=entry_modalities(registered),
            )
            for n in range(replicas)
        ]
        for node in nodes:
            stack.callback(node.stop)
            node.start()
        entry = Entry(tmp / "entry", nodes, modalities=registered).start()
        stack.callback(entry.stop)
        env = dict(
            os.environ,
            PYTHONPATH=python_path("inference"),
            NEURONOVA_REDIS_URL=redis_server.url,
            # Workers reach Orthanc through the entry's HTTP upstream: any replica serves any study.
            ORTHANC_URL=entry.url,
            ORTHANC_USERNAME=nodes[0].auth[0],
            ORTHANC_PASSWORD=nodes[0].auth[1],
            NEURONOVA_ONNX_THREADS="1",
            # Short, so a killed worker's job comes back within the test (production: 1 h).
            NEURONOVA_VISIBILITY_TIMEOUT_S="15",
            NEURONOVA_JOB_LEASE_S=str(lease_s),
        )
        # One AI core for every worker: the one process where the model runs.
        service = InferenceService(env, tmp / "inference.log").start()
        stack.callback(service.stop)
        env = {**env, **service.client_env()}
        pool = [
            InferenceWorker(f"inference-{n}-{os.getpid()}", env, tmp / f"worker-{n}.log").start()
            for n in range(workers)
        ]
        for worker in pool:
            stack.callback(worker.stop)
        yield Cluster(tmp, db, redis_server, nodes, entry, pool)
