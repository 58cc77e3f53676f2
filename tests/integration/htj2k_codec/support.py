"""Test helper (wiring): build the HTJ2K codec plugin and run Orthanc 1.13 with it from the root.

The Orthanc runtime root (Debian sid: orthanc 1.13, orthanc-dicomweb, orthanc-dev,
libopenjph-dev, libdcmtk-dev, g++; ``scripts/orthanc-root.sh build`` prepares it, as bootstrap
does) is where the plugin is compiled and where Orthanc and the codec's tools run, through
``stack.orthanc_root``: the repository read-only and the test's folders writable at the same
paths inside. Without a root the tests fail and say how to make it.

The Orthanc here loads the codec and DICOMweb only (no Python plugin, which would re-encode
what the tests upload): what the codec does is seen alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from stack import orthanc_root
from tests.support.orthanc import free_port

REPO = Path(__file__).resolve().parents[3]
BUILD_SCRIPT = REPO / "orthanc-plugins" / "htj2k-codec" / "build.sh"
BUILD_DIR = REPO / "orthanc-plugins" / "htj2k-codec" / "build"  # where bootstrap builds it too
DICOMWEB = f"{orthanc_root.PLUGINS}/libOrthancDicomWeb.so"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
HTJ2K_RPCL = "1.2.840.10008.1.2.4.202"
HTJ2K_LOSSLESS = "1.2.840.10008.1.2.4.201"


def runtime_root() -> Path:
    """The Debian sid root Orthanc 1.13 runs from (and the plugin is compiled in)."""
    done = subprocess.run(
        [orthanc_root.SCRIPT, "path"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"no Orthanc 1.13 root: run scripts/bootstrap.sh runtime\n{done.stderr}")
    return Path(done.stdout.strip())


def build(root: Path, *targets: str) -> dict[str, Path]:
    """build.sh's outputs (rebuilt only when the sources or the root's toolchain changed)."""
    done = subprocess.run(
        [BUILD_SCRIPT, root, BUILD_DIR, *targets],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return dict(zip(targets, map(Path, done.stdout.split()), strict=True))


def run_tool(tool: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """The codec's command line in the root; the folders of its file arguments bound writable."""
    folders = {Path(a).resolve().parent for a in args if isinstance(a, Path)}
    command = orthanc_root.run_command([str(tool), *map(str, args)], bind=sorted(folders))
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)


@dataclass
class RootedOrthanc:
    """Orthanc 1.13 + the codec plugin (+ DICOMweb) from ``root``, in ``workdir`` (under /tmp)."""

    plugin: Path
    workdir: Path
    codec: bool = True
    overrides: Mapping[str, Any] = field(default_factory=dict)
    http_port: int = field(default_factory=free_port)
    dicom_port: int = field(default_factory=free_port)
    aet: str = "NEURONOVA"
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "orthanc.log"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def config(self) -> dict[str, Any]:
        plugins = [str(self.plugin), DICOMWEB] if self.codec else [DICOMWEB]
        config: dict[str, Any] = {
            "Name": "htj2k-codec-test",
            "HttpPort": self.http_port,
            "DicomPort": self.dicom_port,
            "DicomAet": self.aet,
            "StorageDirectory": str(self.workdir / "storage"),
            "IndexDirectory": str(self.workdir / "index"),
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "SyncStorageArea": True,
            "DicomAlwaysAllowStore": True,
            "DicomCheckModalityHost": False,
            "Plugins": plugins,
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        }
        config.update(self.overrides)
        return config

    def start(self) -> RootedOrthanc:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_path = self.workdir / "orthanc.json"
        config_path.write_text(json.dumps(self.config(), indent=2))
        with self.log_path.open("ab") as log:
            command = orthanc_root.run_command(
                [orthanc_root.ORTHANC, "--verbose", str(config_path)], bind=[self.workdir.resolve()]
            )
            self._proc = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"Orthanc exited at start-up:\n{self.log_text()[-4000:]}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/system", timeout=2).ok:
                    return self
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"Orthanc not ready:\n{self.log_text()[-4000:]}")

    def is_alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def metrics(self) -> dict[str, float]:
        """The codec plugin's Prometheus counters, keyed by their sample line's name{labels}."""
        text = self.get("/neuronova/htj2k/metrics").text
        pairs = (line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))
        return {name: float(value) for name, value in pairs}

    def upload(self, data: bytes) -> str:
        answer = requests.post(f"{self.url}/instances", data=data, timeout=60)
        answer.raise_for_status()
        return str(answer.json()["ID"])

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(f"{self.url}{path}", timeout=120, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return requests.post(f"{self.url}{path}", json=body, timeout=120, **kwargs)

    def delete(self, path: str) -> requests.Response:
        return requests.delete(f"{self.url}{path}", timeout=120)

    def put(self, path: str, body: Any) -> requests.Response:
        return requests.put(f"{self.url}{path}", json=body, timeout=120)


@contextlib.contextmanager
def rooted_orthanc(plugin: Path, workdir: Path, **kwargs: Any) -> Iterator[RootedOrthanc]:
    orthanc = RootedOrthanc(plugin=plugin, workdir=workdir, **kwargs)
    try:
        yield orthanc.start()
    finally:
        orthanc.stop()


@contextlib.contextmanager
def storescp(folder: Path, *options: str) -> Iterator[int]:
    """dcmtk's storescp on a spare port writing into ``folder``; ``+xi``: Implicit VR only."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = subprocess.Popen(
        ["storescp", *options, "-aet", "PEER", "-od", str(folder), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        time.sleep(0.5)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
