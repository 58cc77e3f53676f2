"""Pure: the one DICOM entry in front of several Orthanc replicas (nginx's stream module).

Modalities keep one address and port; each association (a TCP connection) goes to one replica,
``least_conn`` first, and a replica that refuses the connection is skipped for ``fail_timeout``
(nginx tries the next one, so a dead replica costs the modality nothing but a reconnect).
Orthanc acknowledges each C-STORE only once the instance is in the shared index and storage,
so whatever replica answered, an acknowledged instance is durable.

Behind the entry every replica sees the entry's address as the peer: Orthanc's
``DicomCheckModalityHost`` can then only check that address. The entry therefore checks the
modalities' source addresses itself (``allow`` one per registered modality, ``deny all``), and
the replicas register each modality's AE title with the entry's address (``entry_modalities``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"


def stream_block(
    *,
    listen: str,
    replicas: Sequence[str],
    allowed: Sequence[str] | None = None,
    balance: str = "least_conn",
    log: str = "",
) -> str:
    """nginx's ``stream {}`` for the entry: ``listen`` (``[host:]port``) to ``replicas``.

    ``allowed``: client addresses (or CIDR ranges) that may connect, nothing else may (an empty
    list: no one); None lets every address through to the replicas' own checks.
    """
    servers = "\n".join(f"        server {r} max_fails=1 fail_timeout=10s;" for r in replicas)
    access = "".join(f"        allow {a};\n" for a in allowed or ())
    if allowed is not None:
        access += "        deny all;\n"
    log_lines = (
        "    log_format neuronova_dicom '$remote_addr [$time_iso8601] $status "
        "$bytes_received $bytes_sent $session_time $upstream_addr';\n"
        f"    access_log {log} neuronova_dicom;\n"
        if log
        else ""
    )
    policy = f"        {balance};\n" if balance else ""
    return (
        "stream {\n"
        f"{log_lines}"
        "    upstream neuronova_dicom {\n"
        f"{policy}{servers}\n"
        "    }\n"
        "    server {\n"
        f"        listen {listen};\n"
        f"{access}"
        "        proxy_pass neuronova_dicom;\n"
        "        proxy_connect_timeout 3s;\n"
        # An association quiet that long is gone (Orthanc's own DicomScpTimeout is 30 s).
        "        proxy_timeout 10m;\n"
        "    }\n"
        "}\n"
    )


def entry_modalities(
    modalities: Mapping[str, Mapping[str, Any]], entry_host: str
) -> dict[str, dict[str, Any]]:
    """The replicas' ``DicomModalities``: same AE titles and ports, the entry's address."""
    return {name: {**m, "Host": entry_host} for name, m in modalities.items()}


def allowed_hosts(modalities: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The source addresses the entry lets in: one per registered modality."""
    return sorted({str(m["Host"]) for m in modalities.values()})
