"""Pure: the compose run's Orthanc tier — N replicas behind one entry, in one network namespace.

`python -m stack compose up` renders these next to the env file (``var/compose``) and runs
docker-compose with ``orthanc-replicas.yml`` on top of ``docker-compose.yml``:

- ``orthanc`` (docker-compose.yml) holds the tier's network namespace and does nothing else: it
  publishes the DICOM port and carries the name ``orthanc`` on both networks. The entry and
  every replica join it (``network_mode: service:orthanc``), so they share one loopback, as
  the native run's nginx and replicas do on one machine. A process that only sleeps holds it
  because a namespace dies with the container that made it: were the entry its owner, a restart
  of nginx would leave the replicas in a namespace no one can reach.
- ``orthanc-entry`` (docker-compose.yml, its nginx.conf rendered here): the DICOM entry on 4242
  (``stack.dicom_entry``: ``allow`` per registered host, ``deny all``, and a connection to a
  replica *from that host's own loopback address* in 127.64.0.0/10, so each replica's
  ``DicomCheckModalityHost`` checks the pair AE title and host exactly as natively) and the
  replicas' HTTP upstream on 8042 for the portal, the workers and the stack.
- ``orthanc-1`` … ``orthanc-N`` (rendered from docker-compose.yml's ``x-orthanc-replica``):
  replica *i* on DICOM 4242 + *i* and HTTP 8042 + *i*, all on the compose PostgreSQL index and
  the one ``orthanc-storage`` volume; ``"Lock": false`` only when N > 1. nginx's X-Accel
  upstream lists every replica (``orthanc:8043`` …).

Each rendered service carries the SHA-256 of the files it mounts (``NEURONOVA_CONFIG_SHA256``),
so `up` recreates exactly the containers whose configuration changed.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from collections.abc import Mapping
from typing import Any

from stack.dicom_entry import STREAM_MODULE, entry_block, entry_modalities
from stack.orthanc_cluster import replicas_http_block

DICOM_PORT = 4242  # the entry's, published by ``orthanc``
HTTP_PORT = 8042  # the entry's HTTP upstream: ORTHANC_URL=http://orthanc:8042
ENTRY_CONF_DIR = "/etc/neuronova/orthanc-entry"
REPLICA_CONFIG = "/etc/orthanc/orthanc.json"  # where the image's ENTRYPOINT reads it
MAX_REPLICAS = 16


def replica_names(count: int) -> list[str]:
    return [f"orthanc-{i}" for i in range(1, count + 1)]


def replica_http_port(index: int) -> int:
    return HTTP_PORT + index


def replica_dicom_port(index: int) -> int:
    return DICOM_PORT + index


def check_count(count: int) -> int:
    if not 1 <= count <= MAX_REPLICAS:
        raise ValueError(f"Orthanc replicas: {count} is not between 1 and {MAX_REPLICAS}")
    return count


def replica_config(base: Mapping[str, Any], *, index: int, count: int) -> dict[str, Any]:
    """Replica ``index``'s orthanc.json: docker/orthanc/orthanc.json with its own ports and the
    index shared (``"Lock": false``) when it has company. Secrets stay ``${NAME}``."""
    rendered: dict[str, Any] = json.loads(json.dumps(base))
    rendered["DicomPort"] = replica_dicom_port(index)
    rendered["HttpPort"] = replica_http_port(index)
    rendered["PostgreSQL"] = {**rendered["PostgreSQL"], "Lock": count == 1}
    return rendered


def registered_behind_entry(
    modalities: Mapping[str, Mapping[str, Any]],
) -> dict[str, dict[str, Any]]:
    """What every replica registers: each modality at the entry's source address for its host."""
    return entry_modalities(modalities)


def entry_conf(*, count: int, modalities: Mapping[str, Mapping[str, Any]]) -> str:
    """The entry's whole nginx.conf (it runs as www-data on a read-only root: /tmp only)."""
    dicom = [f"127.0.0.1:{replica_dicom_port(i)}" for i in range(1, count + 1)]
    http = replicas_http_block(
        [replica_http_port(i) for i in range(1, count + 1)], listen=str(HTTP_PORT)
    )
    return (
        "# Rendered by `python -m stack compose up` (stack/compose_cluster.py); do not edit.\n"
        f"load_module {STREAM_MODULE};\n"
        "pid /tmp/orthanc-entry.pid;\n"
        "worker_processes 1;\n"
        "error_log stderr;\n"
        "events {\n    worker_connections 1024;\n}\n"
        + entry_block(
            listen=str(DICOM_PORT),
            replicas=dicom,
            modalities=modalities,
            log="/dev/stdout",
        )
        + "http {\n"
        "    access_log off;\n"
        "    client_body_temp_path /tmp/client_body;\n"
        "    proxy_temp_path /tmp/proxy;\n"
        "    fastcgi_temp_path /tmp/fastcgi;\n"
        "    uwsgi_temp_path /tmp/uwsgi;\n"
        "    scgi_temp_path /tmp/scgi;\n" + textwrap.indent(http, "    ") + "}\n"
    )


def x_accel_upstream(count: int) -> str:
    """nginx's ``NN_ORTHANC_UPSTREAM`` (nginx/neuronova.conf.template): every replica itself."""
    lines = [
        f"orthanc:{replica_http_port(i)} max_fails=1 fail_timeout=10s" for i in range(1, count + 1)
    ]
    return ";\n    server ".join(lines)


def _digest(*texts: str) -> str:
    return hashlib.sha256("\0".join(texts).encode()).hexdigest()


def override(
    *,
    count: int,
    template: Mapping[str, Any],
    compose_dir: str,
    replica_configs: Mapping[str, str],
    entry_text: str,
) -> dict[str, Any]:
    """orthanc-replicas.yml: the replicas from ``template`` (docker-compose.yml's
    ``x-orthanc-replica``), and what the entry and nginx need to know of them."""
    services: dict[str, Any] = {}
    for index, name in enumerate(replica_names(count), start=1):
        service: dict[str, Any] = json.loads(json.dumps(template))
        port = replica_http_port(index)
        service["environment"] = {
            **service.get("environment", {}),
            "NEURONOVA_CONFIG_SHA256": _digest(replica_configs[name]),
        }
        service["volumes"] = [
            *service.get("volumes", []),
            f"{compose_dir}/orthanc/{name}.json:{REPLICA_CONFIG}:ro",
        ]
        service["healthcheck"] = {
            **service.get("healthcheck", {}),
            "test": ["CMD", "/usr/local/bin/orthanc-healthcheck", str(port)],
        }
        services[name] = service
    services["orthanc-entry"] = {"environment": {"NEURONOVA_CONFIG_SHA256": _digest(entry_text)}}
    services["nginx"] = {"environment": {"NN_ORTHANC_UPSTREAM": x_accel_upstream(count)}}
    return {"services": services}
