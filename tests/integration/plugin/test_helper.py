"""The private-Orthanc helper other areas rely on: starts with the plugin, restarts, stops."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.support.orthanc import REPO_ROOT, SCU_AET, OrthancProcess, base_config
from tests.support.stack import mounts_of


def test_orthanc_answers_with_plugin_loaded(orthanc: OrthancProcess) -> None:
    system = requests.get(f"{orthanc.url}/system", auth=orthanc.auth, timeout=10).json()
    assert system["DicomAet"] == orthanc.aet
    assert system["DicomPort"] == orthanc.dicom_port
    plugins = requests.get(f"{orthanc.url}/plugins", auth=orthanc.auth, timeout=10).json()
    assert "python" in plugins
    metrics = requests.get(f"{orthanc.url}/neuronova/metrics", auth=orthanc.auth, timeout=10)
    assert metrics.status_code == 200
    assert "neuronova_ingest_instances_seen" in metrics.text


def test_requires_authentication(orthanc: OrthancProcess) -> None:
    assert requests.get(f"{orthanc.url}/system", timeout=10).status_code == 401


def test_restart_keeps_storage_and_stop_frees_port(fresh_orthanc: OrthancProcess) -> None:
    echo = subprocess.run(
        [
            "echoscu",
            "-aec",
            fresh_orthanc.aet,
            "-aet",
            SCU_AET,
            "127.0.0.1",
            f"{fresh_orthanc.dicom_port}",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert echo.returncode == 0, echo.stderr
    broker = fresh_orthanc.redis_url
    # Orthanc runs chrooted with its workdir bound in, in a mount namespace of its own: the
    # machine never sees those mounts, so none can outlive it.
    assert mounts_of(fresh_orthanc.workdir) == []
    fresh_orthanc.restart()
    assert requests.get(f"{fresh_orthanc.url}/system", auth=fresh_orthanc.auth, timeout=10).ok
    assert fresh_orthanc.redis_url == broker  # the private Redis outlives a restart
    assert _redis_ping(broker)
    fresh_orthanc.stop()
    assert not fresh_orthanc.is_alive()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{fresh_orthanc.url}/system", timeout=2)
    assert mounts_of(fresh_orthanc.workdir) == []
    assert not _redis_ping(broker)  # and stops with the Orthanc


def _redis_ping(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "", parts.port or 0), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def test_plugin_gets_a_private_broker_and_var_directory(fresh_orthanc: OrthancProcess) -> None:
    """Never the machine's shared Redis (orthanc.json's default): tasks must not leak."""
    shared = base_config()["NeuroNova"]["RedisUrl"]
    section = json.loads(fresh_orthanc.config_path.read_text())["NeuroNova"]
    assert section["RedisUrl"] == fresh_orthanc.redis_url
    assert section["RedisUrl"] != shared
    assert _redis_ping(section["RedisUrl"])
    assert Path(section["VarDirectory"]).is_relative_to(fresh_orthanc.workdir.resolve())


def test_without_ai_the_broker_is_a_closed_port(tmp_path: Path) -> None:
    orthanc = OrthancProcess(workdir=tmp_path, neuronova={"Ai": False})
    section = orthanc.render_config()["NeuroNova"]
    assert section["RedisUrl"] != base_config()["NeuroNova"]["RedisUrl"]
    assert not _redis_ping(section["RedisUrl"])
    explicit = OrthancProcess(workdir=tmp_path, neuronova={"RedisUrl": "redis://127.0.0.1:1/0"})
    assert explicit.render_config()["NeuroNova"]["RedisUrl"] == "redis://127.0.0.1:1/0"


def test_var_directory_stays_inside_the_workdir(tmp_path: Path) -> None:
    relative = OrthancProcess(workdir=tmp_path, neuronova={"VarDirectory": "v"})
    assert relative.render_config()["NeuroNova"]["VarDirectory"] == str(tmp_path.resolve() / "v")
    outside = OrthancProcess(workdir=tmp_path / "o", neuronova={"VarDirectory": str(tmp_path)})
    with pytest.raises(ValueError, match="outside"):
        outside.render_config()


def test_runtime_is_the_pinned_orthanc(orthanc: OrthancProcess) -> None:
    """Orthanc >= 1.12.11 (the CVE fixes), Python plugin >= 7.1, DICOMweb >= 1.24, from the pins."""
    pins = dict(
        line.split("=", 1)
        for line in (REPO_ROOT / "docker" / "orthanc" / "packages.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )
    system = requests.get(f"{orthanc.url}/system", auth=orthanc.auth, timeout=10).json()
    assert _version(system["Version"]) >= (1, 12, 11)
    assert pins["orthanc"].startswith(system["Version"] + "+")
    for name, package, least in (
        ("python", "orthanc-python", (7, 1)),
        ("dicom-web", "orthanc-dicomweb", (1, 24)),
    ):
        plugin = requests.get(f"{orthanc.url}/plugins/{name}", auth=orthanc.auth, timeout=10).json()
        assert _version(plugin["Version"]) >= least
        assert pins[package].startswith(plugin["Version"] + "+")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))
