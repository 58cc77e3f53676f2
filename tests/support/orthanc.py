"""Test helper (wiring): start a private Orthanc with the NeuroNova plugins on spare ports.

The Orthanc is the one ``make up`` runs: Debian sid's Orthanc 1.13 in the root that
``scripts/orthanc-root.sh`` prepares (``scripts/bootstrap.sh`` builds it), with the workdir bound
inside at the same path and the repository read-only (stack/orthanc_root.py).

Usage from any area's tests::

    from tests.support.orthanc import OrthancProcess, running_orthanc

    with running_orthanc(tmp_path, neuronova={"RedisUrl": url}, overrides={"StableAge": 2}) as o:
        requests.get(f"{o.url}/system", auth=o.auth)
        subprocess.run(["storescu", "-aec", o.aet, "127.0.0.1", str(o.dicom_port), path])
        o.restart()            # same storage and index, new process

The process always stops when the context exits (SIGTERM, then SIGKILL). Orthanc's log is kept
in ``<workdir>/orthanc.log`` (``o.log_text()``) so a test can assert that no plugin exception
escaped. Pass ``plugin=False`` for a plain Orthanc (DICOMweb only), e.g. as a benchmark baseline.

Isolation: a test Orthanc never talks to the machine's shared Redis (orthanc.json's default
``NeuroNova.RedisUrl``). Without a ``RedisUrl`` from the caller, the helper starts its own
throw-away ``redis-server`` (no persistence, spare port, data under ``<workdir>/redis``) for the
Orthanc's lifetime, so the AI block publishes for real but only there (``o.redis_url``); with
the AI block off (``Ai``/``Enabled`` false) or no redis-server installed it points at a spare
127.0.0.1 port nothing listens on. ``NeuroNova.VarDirectory`` is always inside ``workdir``, the
only writable path Orthanc gets.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from neuronova_plugin.config import plugin_config
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from stack import orthanc_root
from tests.support.models import MODELS_DIR

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

REPO_ROOT = Path(__file__).resolve().parents[2]
PLUGIN_DIR = REPO_ROOT / "orthanc-plugins"
ENTRY_SCRIPT = PLUGIN_DIR / "entry.py"
USERNAME = "orthanc"
# Drawn per test session: no fixed secret, even for a loopback-only test Orthanc (door 2).
PASSWORD = secrets.token_urlsafe(24)
AET = "NEURONOVA"
# The calling AE of `storescu()`, registered as a modality in every test Orthanc: only registered
# modalities store (orthanc.json). Tests calling with another AE title register it in overrides.
SCU_AET = "TESTSCU"


def free_port() -> int:
    """A port the OS reports free right now (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_config() -> dict[str, Any]:
    """The repository's orthanc.json: tests run the configuration users run."""
    config: dict[str, Any] = json.loads((REPO_ROOT / "orthanc.json").read_text())
    return config


def _deep_merge(target: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _deep_merge(target[key], value)
        else:
            target[key] = value
    return target


@dataclass
class OrthancProcess:
    """One private Orthanc in ``workdir``; ``start()`` waits until ``/system`` answers."""

    workdir: Path
    plugin: bool = True
    dicomweb: bool = True
    neuronova: Mapping[str, Any] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)
    startup_timeout_s: float = 60.0
    codec: bool = True  # load the native HTJ2K codec plugin once bootstrap has built it
    http_port: int = field(default_factory=free_port)
    dicom_port: int = field(default_factory=free_port)
    aet: str = AET
    # Orthanc's ``PostgreSQL`` section (tests.support.postgres.ScratchDatabase.orthanc_section):
    # the index (and with EnableStorage the files) in PostgreSQL instead of SQLite under workdir.
    postgres: Mapping[str, Any] | None = None
    # Host folders outside workdir the Orthanc may write, e.g. a StorageDirectory that several
    # replicas share.
    shared: tuple[Path, ...] = ()
    # DicomModalities in place of the default (the test's own SCU on loopback).
    modalities: Mapping[str, Any] | None = None
    redis_url: str = field(default="", init=False)  # the broker the plugin was given
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _redis: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def auth(self) -> tuple[str, str]:
        return (USERNAME, PASSWORD)

    @property
    def config_path(self) -> Path:
        return self.workdir / "orthanc.json"

    @property
    def log_path(self) -> Path:
        return self.workdir / "orthanc.log"

    def session(self) -> requests.Session:
        session = requests.Session()
        session.auth = self.auth
        # Orthanc closes a kept-alive connection after 1 s idle (KeepAliveTimeout); a test polling
        # every second sends, now and then, on a connection Orthanc is closing and gets
        # RemoteDisconnected (seen once in CI, test_metadata_cache). A GET or HEAD that met a
        # closed connection is asked again on a new one; nothing else is retried.
        retry = Retry(total=2, connect=2, read=2, status=0, allowed_methods={"GET", "HEAD"})
        session.mount("http://", HTTPAdapter(max_retries=retry))
        return session

    def render_config(self) -> dict[str, Any]:
        config = base_config()
        codec = orthanc_root.CODEC_PLUGIN
        plugins = orthanc_root.plugin_list(
            python=self.plugin,
            dicomweb=self.dicomweb,
            codec=codec if self.plugin and self.codec and codec.is_file() else None,
            postgres_index=bool(self.postgres and self.postgres.get("EnableIndex")),
            postgres_storage=bool(self.postgres and self.postgres.get("EnableStorage")),
        )
        config.update(
            {
                "HttpPort": self.http_port,
                "DicomPort": self.dicom_port,
                "DicomAet": self.aet,
                "StorageDirectory": str(self.workdir / "storage"),
                "IndexDirectory": str(self.workdir / "index"),
                "RegisteredUsers": {USERNAME: PASSWORD},
                "DicomModalities": (
                    dict(self.modalities)
                    if self.modalities is not None
                    else {SCU_AET: {"AET": SCU_AET, "Host": "127.0.0.1", "Port": 104}}
                ),
                "Plugins": plugins,
                "PythonScript": str(ENTRY_SCRIPT),
            }
        )
        if not self.plugin:
            config.pop("PythonScript", None)
        if self.postgres:
            config["PostgreSQL"] = dict(self.postgres)
        section = config.setdefault("NeuroNova", {})
        section["VarDirectory"] = str(self.workdir / "var")
        section["RedisUrl"] = self.redis_url or _closed_redis_url()
        section["TaskKey"] = os.environ.get("NEURONOVA_TASK_KEY", "")
        section["ModelsDirectory"] = str(MODELS_DIR)
        section["OrthancLogFile"] = str(self.log_path)
        _deep_merge(section, self.neuronova)
        _deep_merge(config, self.overrides)
        section = config["NeuroNova"]
        section["VarDirectory"] = str(_inside(self.workdir, Path(section["VarDirectory"])))
        return config

    def _needs_broker(self) -> bool:
        """The plugin's AI block will run, and the caller chose no broker: give it a private one."""
        if not self.plugin or "RedisUrl" in self.neuronova:
            return False
        section = {**base_config().get("NeuroNova", {}), **self.neuronova}
        config = plugin_config({"NeuroNova": section})  # the plugin's own reading of the keys
        return config.enabled and config.ai.enabled

    def _start_redis(self) -> None:
        if self._redis is not None and self._redis.poll() is None:
            return
        self.redis_url = ""
        if not self._needs_broker() or shutil.which("redis-server") is None:
            return
        port, folder = free_port(), self.workdir / "redis"
        folder.mkdir(parents=True, exist_ok=True)
        self._redis = subprocess.Popen(
            [
                *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(folder)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=folder,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self._redis.poll() is None:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                self.redis_url = f"redis://127.0.0.1:{port}/0"
                return
            time.sleep(0.05)
        self._stop_redis()
        raise RuntimeError(f"private redis-server on port {port} did not start")

    def _stop_redis(self) -> None:
        redis, self._redis = self._redis, None
        if redis is not None:
            _terminate(redis)

    def start(self) -> OrthancProcess:
        if self._proc is not None:
            raise RuntimeError("Orthanc already started")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._start_redis()
        self.config_path.write_text(json.dumps(self.render_config(), indent=2))
        # The plugin finds its packages itself (entry.py: the root's venv); nothing of the
        # host's Python may leak into Orthanc's embedded interpreter.
        env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
        binds = [self.workdir.resolve(), *(p.resolve() for p in self.shared)]
        command = orthanc_root.orthanc_command(self.config_path, bind=binds)
        try:
            with self.log_path.open("ab") as log:
                self._proc = subprocess.Popen(
                    command,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.workdir,
                    env=env,
                    start_new_session=True,
                )
            self._wait_ready()
        except BaseException:
            self.stop()  # also the private Redis: nothing is left behind
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(f"Orthanc exited at start-up:\n{self.log_text()[-4000:]}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/system", auth=self.auth, timeout=2).ok:
                    return
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"Orthanc not ready in {self.startup_timeout_s}s:\n{self.log_text()}")

    def is_alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def kill(self) -> None:
        """SIGKILL Orthanc (a replica dying mid-work); the private Redis stays up."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)

    def stop(self) -> None:
        """Stop Orthanc, then the helper's own Redis (if it started one)."""
        self._stop_orthanc()
        self._stop_redis()

    def _stop_orthanc(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            _terminate(proc)

    def restart(self) -> OrthancProcess:
        """A new Orthanc process on the same storage, index, ports and private Redis."""
        self._stop_orthanc()
        return self.start()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def storescu(
        self, *paths: Path | str, timeout_s: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """Send files with dcmtk's storescu as a modality would (one association)."""
        command = [
            "storescu",
            "-aec",
            self.aet,
            "-aet",
            SCU_AET,
            "127.0.0.1",
            str(self.dicom_port),
        ]
        return subprocess.run(
            [*command, *map(str, paths)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group started with ``start_new_session``, SIGKILL after 30 s."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _closed_redis_url() -> str:
    """A Redis URL on a spare loopback port nothing listens on: publishing fails, nothing leaks."""
    return f"redis://127.0.0.1:{free_port()}/0"


def _inside(workdir: Path, path: Path) -> Path:
    """``path`` resolved against ``workdir``; refuse one outside it (tests own only their tmp)."""
    resolved = (workdir / path).resolve()
    if not resolved.is_relative_to(workdir.resolve()):
        raise ValueError(f"NeuroNova.VarDirectory {path} is outside the test's {workdir}")
    return resolved


@contextlib.contextmanager
def running_orthanc(
    workdir: Path,
    *,
    plugin: bool = True,
    dicomweb: bool = True,
    neuronova: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Iterator[OrthancProcess]:
    """Start a private Orthanc in ``workdir`` and always stop it on exit."""
    orthanc = OrthancProcess(
        workdir=workdir,
        plugin=plugin,
        dicomweb=dicomweb,
        neuronova=neuronova or {},
        overrides=overrides or {},
    )
    try:
        yield orthanc.start()
    finally:
        orthanc.stop()


if __name__ == "__main__":  # manual use: python -m tests.support.orthanc <workdir>
    with running_orthanc(Path(sys.argv[1])) as running:
        print(running.url, running.dicom_port, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()


def synthetic_mr_series(
    count: int = 20,
    *,
    rows: int = 256,
    columns: int = 256,
    bits_stored: int = 12,
    seed: int = 0,
    study_uid: str | None = None,
    patient_id: str = "NN-TEST-0001",
) -> list[Dataset]:
    """A brain-MR-like axial series (pydicom Datasets, Explicit VR Little Endian, 16-bit).

    Smooth head-shaped intensities with noise, fresh UIDs, consistent geometry (1 mm pixels,
    slice spacing 1.5 mm, one frame of reference) so it can be stacked into a volume.
    """
    import numpy as np  # noqa: PLC0415 - test-data helper; keep the module import light
    from pydicom.dataset import Dataset, FileMetaDataset  # noqa: PLC0415
    from pydicom.uid import (  # noqa: PLC0415
        PYDICOM_IMPLEMENTATION_UID,
        ExplicitVRLittleEndian,
        MRImageStorage,
        generate_uid,
    )

    rng = np.random.default_rng(seed)
    study = study_uid or generate_uid()
    series, frame_of_reference = generate_uid(), generate_uid()
    y, x = np.mgrid[-1 : 1 : rows * 1j, -1 : 1 : columns * 1j]
    top = (1 << bits_stored) - 1
    slices = []
    for index in range(count):
        z = -1 + 2 * (index + 0.5) / count
        head = np.clip(1.0 - (x / 0.8) ** 2 - (y / 0.95) ** 2 - z**2, 0, None)
        image = top * 0.6 * np.sqrt(head) * (1 + 0.15 * np.sin(9 * x + 5 * z) * np.cos(7 * y))
        # Rician-like: faint noise in the air around the head, stronger inside tissue.
        image += rng.normal(0, 1, image.shape) * np.where(head > 0, top * 0.004, 2.0)
        pixels = np.clip(image, 0, top).astype(np.uint16)
        sop = generate_uid()
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = MRImageStorage
        meta.MediaStorageSOPInstanceUID = sop
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = MRImageStorage, sop
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.FrameOfReferenceUID = frame_of_reference
        ds.PatientID, ds.PatientName = patient_id, "Test^Brain"
        ds.StudyDate, ds.StudyTime, ds.AccessionNumber = "20260101", "120000", "ACC0001"
        ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "MR", 1, index + 1
        ds.SeriesDescription = "T1 AX synthetic"
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [-columns / 2, -rows / 2, 1.5 * index]
        ds.PixelSpacing, ds.SliceThickness = [1, 1], 1.5
        ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, columns, 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits_stored, bits_stored - 1
        ds.PixelRepresentation = 0
        ds.PixelData = pixels.tobytes()
        slices.append(ds)
    return slices


def write_series(datasets: list[Dataset], folder: Path) -> list[Path]:
    """Save datasets as DICOM files (with preamble) and return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, ds in enumerate(datasets):
        path = folder / f"{index:05d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths
