"""The compose run's Orthanc tier as `python -m stack compose up` renders it
(stack/compose_cluster.py): N replicas, each hardened like every other service, on their own
ports in the one network namespace; the entry in front of them; docker-compose accepts it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from stack import compose, compose_cluster, modalities
from stack.config import ConfigError
from tests.support.tools import require_tool

ROOT = Path(__file__).resolve().parents[3]
CT = modalities.entry("CT-1", "10.20.30.40")
MR = modalities.entry("MR-1", "10.20.30.41")


def _rendered(tmp_path: Path, count: int) -> dict[str, Any]:
    folder = compose.compose_dir(tmp_path)
    modalities.write(folder, {"CT": CT, "MR": MR})
    compose.ensure_secrets(tmp_path)
    data: dict[str, Any] = yaml.safe_load(compose.render_cluster(tmp_path, count).read_text())
    return data


@pytest.mark.parametrize("count", [1, 3])
def test_each_replica_has_its_ports_and_shares_the_index_only_when_it_has_company(
    tmp_path: Path, count: int
) -> None:
    _rendered(tmp_path, count)
    for index in range(1, count + 1):
        path = compose.compose_dir(tmp_path) / "orthanc" / f"orthanc-{index}.json"
        config = json.loads(path.read_text())
        assert config["DicomPort"] == 4242 + index
        assert config["HttpPort"] == 8042 + index
        assert config["PostgreSQL"]["Lock"] is (count == 1)
        assert config["RegisteredUsers"] == {"orthanc": "${ORTHANC_PASSWORD}"}  # no secret
        assert path.stat().st_mode & 0o777 == 0o644


def test_every_replica_is_hardened_in_the_namespace_of_orthanc(tmp_path: Path) -> None:
    services = _rendered(tmp_path, 2)["services"]
    for index in (1, 2):
        replica = services[f"orthanc-{index}"]
        assert replica["read_only"] is True
        assert replica["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in replica["security_opt"]
        assert "cap_add" not in replica
        assert replica["network_mode"] == "service:orthanc"
        assert "ports" not in replica  # only the entry's 4242 is published (by `orthanc`)
        assert replica["healthcheck"]["test"][-1] == str(8042 + index)
        assert any(
            v.endswith(f"orthanc-{index}.json:/etc/orthanc/orthanc.json:ro")
            for v in replica["volumes"]
        )
        assert "orthanc-storage:/var/lib/orthanc/db" in replica["volumes"]
    upstream = services["nginx"]["environment"]["NN_ORTHANC_UPSTREAM"]
    assert "orthanc:8043 " in upstream
    assert "server orthanc:8044 " in upstream


def test_the_entry_lets_in_registered_hosts_each_from_its_own_source_address(
    tmp_path: Path,
) -> None:
    _rendered(tmp_path, 2)
    conf = (compose.compose_dir(tmp_path) / "orthanc-entry" / "nginx.conf").read_text()
    sources = compose_cluster.registered_behind_entry({"CT": CT, "MR": MR})
    assert "allow 10.20.30.40;" in conf
    assert "allow 10.20.30.41;" in conf
    assert conf.index("allow 10.20.30.41;") < conf.index("deny all;")
    assert "proxy_bind $neuronova_dicom_source;" in conf
    for name, entry in (("CT", CT), ("MR", MR)):
        assert f"{entry['Host']} {sources[name]['Host']};" in conf
    assert "server 127.0.0.1:4243 " in conf
    assert "server 127.0.0.1:4244 " in conf
    assert "server 127.0.0.1:8043 " in conf
    assert "server 127.0.0.1:8044 " in conf


def test_a_changed_configuration_changes_the_service_that_mounts_it(tmp_path: Path) -> None:
    one = _rendered(tmp_path, 1)["services"]
    two = _rendered(tmp_path, 2)["services"]
    # orthanc-1's file changed (Lock): its container must be recreated, so its definition differs.
    assert one["orthanc-1"]["environment"] != two["orthanc-1"]["environment"]
    assert compose.rendered_count(tmp_path) == 2


def test_replica_count_comes_from_the_flag_the_environment_or_what_runs(tmp_path: Path) -> None:
    assert compose.replica_count(tmp_path, {}, None) == 1
    _rendered(tmp_path, 3)
    assert compose.replica_count(tmp_path, {}, None) == 3
    assert compose.replica_count(tmp_path, {"NEURONOVA_ORTHANC_REPLICAS": "2"}, None) == 2
    assert compose.replica_count(tmp_path, {"NEURONOVA_ORTHANC_REPLICAS": "2"}, 4) == 4
    with pytest.raises(ConfigError):
        compose.replica_count(tmp_path, {"NEURONOVA_ORTHANC_REPLICAS": "0"}, None)


def test_docker_compose_accepts_the_file_with_the_rendered_replicas(tmp_path: Path) -> None:
    _rendered(tmp_path, 2)
    folder = compose.compose_dir(tmp_path)
    result = subprocess.run(
        [
            require_tool("docker-compose", "docker-compose"),
            *("-f", str(ROOT / "docker-compose.yml"), "-f", str(folder / compose.REPLICAS_FILE)),
            *("--env-file", str(folder / ".env"), "config", "--services"),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "NEURONOVA_COMPOSE_DIR": str(folder)},
    )
    assert result.returncode == 0, result.stderr
    assert {"orthanc", "orthanc-entry", "orthanc-1", "orthanc-2"} <= set(result.stdout.split())
