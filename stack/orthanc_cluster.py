"""Pure: the native run's Orthanc topology — one Orthanc on SQLite (the default) or N replicas on
one PostgreSQL index behind nginx (``NEURONOVA_ORTHANC_DB``, ``NEURONOVA_ORTHANC_REPLICAS``).

One replica keeps the ports and names it always had (program ``orthanc``, HTTP
``ORTHANC_HTTP_PORT``, DICOM ``ORTHANC_DICOM_PORT``). With N > 1, nginx takes those two ports
(the DICOM entry, ``stack.dicom_entry``, and a loopback HTTP upstream for the portal, the
inference worker and the stack's own calls) and replica ``orthanc-i`` listens on the ports
``ORTHANC_REPLICA_HTTP_PORTS`` / ``ORTHANC_REPLICA_DICOM_PORTS`` name (default: the entry's
port + i). They share the index (PostgreSQL), the storage folder and ``var/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stack.dicom_entry import STREAM_MODULE, entry_block, entry_modalities

# The DICOM entry's access log under the stack's log folder; the first replica counts its refusals.
ENTRY_LOG = "dicom-entry.log"


@dataclass(frozen=True)
class Replica:
    name: str  # supervisord program, log file var/log/<name>.log
    http_port: int
    dicom_port: int
    config_path: Path


@dataclass(frozen=True)
class PostgresIndex:
    """Where the replicas' index lives; the stack creates the role and database once."""

    host: str
    port: int
    database: str
    user: str
    password: str
    storage: bool  # also the DICOM files (large objects) instead of var/orthanc/storage

    def orthanc_section(self, *, replicas: int) -> dict[str, Any]:
        return {
            "EnableIndex": True,
            "EnableStorage": self.storage,
            "Host": self.host,
            "Port": self.port,
            "Database": self.database,
            "Username": self.user,
            "Password": self.password,
            # One Orthanc alone takes PostgreSQL's lock against a second one started by mistake;
            # replicas share the index on purpose (orthanc-postgresql >= 4.0: multiple writers).
            "Lock": replicas == 1,
            "IndexConnectionsCount": 5,
            "MaximumConnectionRetries": 30,
        }


def replicas(
    var_dir: Path,
    *,
    count: int,
    http_port: int,
    dicom_port: int,
    http_ports: tuple[int, ...] = (),
    dicom_ports: tuple[int, ...] = (),
) -> list[Replica]:
    orthanc = var_dir / "orthanc"
    if count == 1:
        return [Replica("orthanc", http_port, dicom_port, orthanc / "orthanc.json")]
    return [
        Replica(
            f"orthanc-{i}",
            http_ports[i - 1] if http_ports else http_port + i,
            dicom_ports[i - 1] if dicom_ports else dicom_port + i,
            orthanc / f"orthanc-{i}.json",
        )
        for i in range(1, count + 1)
    ]


def replica_modalities(
    modalities: Mapping[str, Mapping[str, Any]], *, count: int
) -> dict[str, dict[str, Any]]:
    """What each Orthanc registers: the modalities as they are, or behind the entry at the
    entry's source address for each modality's host."""
    if count == 1:
        return {name: dict(m) for name, m in modalities.items()}
    return entry_modalities(modalities)


def nginx_main(
    members: list[Replica],
    *,
    dicom_port: int,
    modalities: Mapping[str, Mapping[str, Any]],
    log: Path,
) -> str:
    """Main-context include of the native nginx: the stream module and the DICOM entry."""
    if len(members) == 1:
        return "# One Orthanc: it listens on the DICOM port itself.\n"
    return f"load_module {STREAM_MODULE};\n" + entry_block(
        listen=str(dicom_port),
        replicas=[f"127.0.0.1:{r.dicom_port}" for r in members],
        modalities=modalities,
        log=str(log),
    )


def nginx_http(members: list[Replica], *, http_port: int) -> str:
    """http-context include: Orthanc's one loopback address for the portal and the workers."""
    if len(members) == 1:
        return "# One Orthanc: callers reach it on its own port.\n"
    return replicas_http_block([r.http_port for r in members], listen=f"127.0.0.1:{http_port}")


def replicas_http_block(http_ports: list[int], *, listen: str) -> str:
    """The replicas' one HTTP address (an http-context upstream and server), native and compose."""
    servers = "".join(
        f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=10s;\n" for port in http_ports
    )
    return (
        f"upstream neuronova_orthanc_replicas {{\n{servers}    keepalive 16;\n"
        # Below Orthanc's KeepAliveTimeout (1 s), as in nginx/neuronova.conf.template: the
        # portal's and workers' STOWs and SEG uploads come this way and are not retried.
        "    keepalive_timeout 500ms;\n}\n"
        "server {\n"
        f"    listen {listen};\n"
        "    client_max_body_size 0;\n"
        # Uploads and SEGs stream through; nothing is spooled.
        "    proxy_request_buffering off;\n"
        "    proxy_buffering off;\n"
        "    location / {\n"
        "        proxy_pass http://neuronova_orthanc_replicas;\n"
        "        proxy_http_version 1.1;\n"
        '        proxy_set_header Connection "";\n'
        # A replica that is down is skipped; a request it had begun is not replayed elsewhere.
        "        proxy_next_upstream error timeout;\n"
        "        proxy_read_timeout 600s;\n"
        "    }\n"
        "}\n"
    )


def x_accel_servers(members: list[Replica]) -> str:
    """The value of the X-Accel upstream's ``server`` line(s) in nginx/neuronova.conf.template."""
    lines = [f"127.0.0.1:{r.http_port} max_fails=1 fail_timeout=10s" for r in members]
    return ";\n    server ".join(lines) if len(lines) > 1 else lines[0].split()[0]
