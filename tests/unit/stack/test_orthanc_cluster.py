"""The native run's Orthanc topology: SQLite alone by default, N replicas on PostgreSQL behind
nginx's DICOM entry and loopback upstream when asked."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
import yaml

from observability.prometheus.render import TEMPLATE
from observability.prometheus.render import render as prometheus_render
from stack import dicom_entry, modalities, orthanc_cluster, render
from stack.config import ConfigError, load

ROOT = Path(__file__).resolve().parents[3]
BASE = json.loads((ROOT / "orthanc.json").read_text())
CLUSTER = {
    "NEURONOVA_ORTHANC_DB": "postgresql",
    "NEURONOVA_ORTHANC_REPLICAS": "2",
    "ORTHANC_DB_PASSWORD": "db-secret",
    "ORTHANC_PASSWORD": "o-secret",
}
MR1 = {"MR1": modalities.entry("MR1", "10.0.0.7")}


def test_default_is_one_orthanc_on_sqlite_as_before() -> None:
    config = load({}, root=ROOT)
    (replica,) = config.orthanc_replicas
    assert (replica.name, replica.http_port, replica.dicom_port) == ("orthanc", 8042, 4242)
    rendered = render.orthanc_config(BASE, config, codec=None, modalities=MR1)
    assert "PostgreSQL" not in rendered
    assert rendered["DicomModalities"]["MR1"]["Host"] == "10.0.0.7"
    assert not any("PostgreSQL" in p for p in rendered["Plugins"])
    assert [p.name for p in render.programs(config, manage_redis=False)].count("orthanc") == 1
    members = config.orthanc_replicas
    assert "stream" not in orthanc_cluster.nginx_main(
        members, dicom_port=4242, modalities=MR1, log=Path("/l")
    )
    assert render.nginx_values(config)["NN_ORTHANC_UPSTREAM"] == "127.0.0.1:8042"


def test_one_orthanc_on_postgresql_locks_the_index_for_itself() -> None:
    config = load({**CLUSTER, "NEURONOVA_ORTHANC_REPLICAS": "1"}, root=ROOT)
    rendered = render.orthanc_config(BASE, config, codec=None)
    assert rendered["PostgreSQL"]["Lock"] is True
    assert rendered["PostgreSQL"]["Database"] == "neuronova_orthanc"
    assert rendered["PostgreSQL"]["Password"] == "db-secret"
    assert "/usr/share/orthanc/plugins/libOrthancPostgreSQLIndex.so" in rendered["Plugins"]
    assert config.secrets()["ORTHANC_DB_PASSWORD"] == "db-secret"


def test_replicas_share_the_index_behind_one_dicom_entry_and_one_http_upstream() -> None:
    config = load(CLUSTER, root=ROOT)
    one, two = config.orthanc_replicas
    assert [(r.name, r.http_port, r.dicom_port) for r in (one, two)] == [
        ("orthanc-1", 8043, 4243),
        ("orthanc-2", 8044, 4244),
    ]
    assert {8043, 8044, 4243, 4244} <= set(config.ports)
    for replica in (one, two):
        rendered = render.orthanc_config(BASE, config, codec=None, modalities=MR1, replica=replica)
        assert (rendered["HttpPort"], rendered["DicomPort"]) == (
            replica.http_port,
            replica.dicom_port,
        )
        assert rendered["PostgreSQL"]["Lock"] is False
        # The replicas see every association coming from the entry, from MR1's own address.
        source = dicom_entry.source_addresses(MR1)["10.0.0.7"]
        assert rendered["DicomModalities"]["MR1"]["Host"] == source
        assert rendered["NeuroNova"]["OrthancLogFile"].endswith(f"{replica.name}.log")
        # The entry's refusals are counted once: by the first replica only.
        entry_log = rendered["NeuroNova"].get("DicomEntryLogFile", "")
        assert entry_log.endswith("dicom-entry.log") == (replica is one)
    names = [p.name for p in render.programs(config, manage_redis=False)]
    assert "orthanc" not in names
    assert {"orthanc-1", "orthanc-2"} <= set(names)
    entry = orthanc_cluster.nginx_main(
        config.orthanc_replicas, dicom_port=4242, modalities=MR1, log=Path("/var/log/e.log")
    )
    assert "load_module" in entry
    assert "listen 4242;" in entry
    assert "allow 10.0.0.7;" in entry
    assert "deny all;" in entry
    assert f"10.0.0.7 {source};" in entry
    assert "proxy_bind $neuronova_dicom_source;" in entry
    assert "server 127.0.0.1:4243" in entry
    assert "server 127.0.0.1:4244" in entry
    http = orthanc_cluster.nginx_http(config.orthanc_replicas, http_port=8042)
    assert "listen 127.0.0.1:8042;" in http
    assert "server 127.0.0.1:8043" in http
    upstream = render.nginx_values(config)["NN_ORTHANC_UPSTREAM"]
    assert upstream.count("server ") == 1  # the template's own "server" starts the first line
    assert "127.0.0.1:8044" in upstream


def test_no_registered_modality_means_the_entry_lets_no_one_in() -> None:
    config = load(CLUSTER, root=ROOT)
    entry = orthanc_cluster.nginx_main(
        config.orthanc_replicas, dicom_port=4242, modalities={}, log=Path("/l")
    )
    assert "allow" not in entry
    assert "deny all;" in entry


def test_each_modality_host_reaches_the_replicas_from_its_own_loopback_address() -> None:
    hosts = [f"10.1.{i // 250}.{i % 250 + 1}" for i in range(500)] + ["::1", "192.0.2.9"]
    registered = {f"M{i}": modalities.entry(f"M{i}", host) for i, host in enumerate(hosts)}
    # Two AE titles on one host share its address: Orthanc then checks only the titles.
    registered["M0-BIS"] = modalities.entry("M0-BIS", hosts[0])
    sources = dicom_entry.source_addresses(registered)
    assert set(sources) == set(hosts)
    assert len(set(sources.values())) == len(hosts)  # never shared between hosts
    for source in sources.values():
        assert ipaddress.ip_address(source) in dicom_entry.SOURCE_NETWORK
        assert source != dicom_entry.UNREGISTERED_SOURCE
        assert ipaddress.ip_address(source) != dicom_entry.SOURCE_NETWORK.broadcast_address
    behind = dicom_entry.entry_modalities(registered)
    assert behind["M0"]["Host"] == behind["M0-BIS"]["Host"] == sources[hosts[0]]
    assert behind["M1"]["AET"] == "M1"
    # Registering or removing one leaves every other modality's address as it was.
    fewer = dicom_entry.source_addresses({k: v for k, v in registered.items() if k != "M7"})
    assert fewer == {h: s for h, s in sources.items() if h != hosts[7]}


def test_replica_ports_can_be_named() -> None:
    config = load(
        {
            **CLUSTER,
            "ORTHANC_REPLICA_HTTP_PORTS": "9001,9002",
            "ORTHANC_REPLICA_DICOM_PORTS": "9011,9012",
        },
        root=ROOT,
    )
    assert [(r.http_port, r.dicom_port) for r in config.orthanc_replicas] == [
        (9001, 9011),
        (9002, 9012),
    ]
    with pytest.raises(ConfigError, match="ORTHANC_REPLICA_HTTP_PORTS"):
        load({**CLUSTER, "ORTHANC_REPLICA_HTTP_PORTS": "9001"}, root=ROOT)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NEURONOVA_ORTHANC_REPLICAS": "2"}, "needs NEURONOVA_ORTHANC_DB=postgresql"),
        ({"NEURONOVA_ORTHANC_DB": "mysql"}, "use sqlite or postgresql"),
        ({"NEURONOVA_ORTHANC_DB": "postgresql", "NEURONOVA_ORTHANC_REPLICAS": "0"}, "REPLICAS=0"),
    ],
)
def test_topologies_that_cannot_work_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(env, root=ROOT)


def test_prometheus_scrapes_each_replica_not_the_load_balanced_port() -> None:
    env = {"ORTHANC_HTTP_PORT": "8042", "ORTHANC_METRICS_PORTS": "8043,8044"}
    rendered = prometheus_render(yaml.safe_load(TEMPLATE.read_text()), env, rules_dir=Path("/r"))
    (job,) = [j for j in rendered["scrape_configs"] if j["job_name"] == "orthanc"]
    assert job["static_configs"][0]["targets"] == ["127.0.0.1:8043", "127.0.0.1:8044"]
