"""The private-Orthanc helper other areas rely on: starts with the plugin, restarts, stops."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import requests

from tests.support.orthanc import OrthancProcess

pytestmark = pytest.mark.integration


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
        ["echoscu", "-aec", fresh_orthanc.aet, "127.0.0.1", str(fresh_orthanc.dicom_port)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert echo.returncode == 0, echo.stderr
    fresh_orthanc.restart()
    assert requests.get(f"{fresh_orthanc.url}/system", auth=fresh_orthanc.auth, timeout=10).ok
    fresh_orthanc.stop()
    assert not fresh_orthanc.is_alive()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{fresh_orthanc.url}/system", timeout=2)


def test_entry_script_finds_its_packages_without_pythonpath(tmp_path: Path) -> None:
    orthanc = OrthancProcess(workdir=tmp_path / "orthanc", pythonpath=False)
    try:
        orthanc.start()
        metrics = requests.get(f"{orthanc.url}/neuronova/metrics", auth=orthanc.auth, timeout=10)
        assert metrics.status_code == 200
    finally:
        orthanc.stop()
