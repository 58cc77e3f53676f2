"""Pure: the one DICOM entry in front of several Orthanc replicas (nginx's stream module).

Modalities keep one address and port; each association (a TCP connection) goes to one replica,
``least_conn`` first, and a replica that refuses the connection is skipped for ``fail_timeout``
(nginx tries the next one, so a dead replica costs the modality nothing but a reconnect).
Orthanc acknowledges each C-STORE only once the instance is in the shared index and storage,
so whatever replica answered, an acknowledged instance is durable.

Behind a proxy a replica sees the proxy as the peer, and Orthanc's DICOM server understands
neither the PROXY protocol nor anything else that would carry the modality's address. So the
entry connects to the replicas *from a loopback address of the modality's own*: each registered
host gets one address in 127.64.0.0/10 (``source_addresses``; every 127/8 address is this
machine's loopback, binding one needs no privilege), nginx picks it by the client's address
(``geo``) and binds to it (``proxy_bind``), and the replicas register each AE title with that
address (``entry_modalities``). Orthanc's own ``DicomCheckModalityHost`` then checks the pair
(AE title, host) exactly as it does without the entry: a registered host calling with another
host's AE title is refused and counted by the replica. Any other client is refused by nginx
first (``allow`` per registered host, ``deny all``), and would reach a replica from an address
no modality is registered at (``UNREGISTERED_SOURCE``) if it ever got through.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
# The entry's source addresses, one per registered modality host; .1 stands for "none of them".
SOURCE_NETWORK = ipaddress.IPv4Network("127.64.0.0/10")
UNREGISTERED_SOURCE = str(SOURCE_NETWORK.network_address + 1)


def stream_block(
    *,
    listen: str,
    replicas: Sequence[str],
    allowed: Sequence[str] | None = None,
    sources: Mapping[str, str] | None = None,
    balance: str = "least_conn",
    log: str = "",
) -> str:
    """nginx's ``stream {}`` for the entry: ``listen`` (``[host:]port``) to ``replicas``.

    ``allowed``: client addresses (or CIDR ranges) that may connect, nothing else may (an empty
    list: no one); None lets every address through to the replicas' own checks. ``sources``:
    client address -> the loopback address the entry connects to a replica from
    (``source_addresses``); None connects from nginx's own address.
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
    geo, bind = "", ""
    if sources is not None:
        pairs = "".join(f"        {host} {source};\n" for host, source in sorted(sources.items()))
        geo = (
            "    geo $remote_addr $neuronova_dicom_source {\n"
            f"        default {UNREGISTERED_SOURCE};\n{pairs}    }}\n"
        )
        bind = "        proxy_bind $neuronova_dicom_source;\n"
    return (
        "stream {\n"
        f"{log_lines}"
        f"{geo}"
        "    upstream neuronova_dicom {\n"
        f"{policy}{servers}\n"
        "    }\n"
        "    server {\n"
        f"        listen {listen};\n"
        f"{access}"
        "        proxy_pass neuronova_dicom;\n"
        f"{bind}"
        "        proxy_connect_timeout 3s;\n"
        # An association quiet that long is gone (Orthanc's own DicomScpTimeout is 30 s).
        "        proxy_timeout 10m;\n"
        "    }\n"
        "}\n"
    )


def source_addresses(modalities: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Registered host -> the entry's loopback source address for it, one each, never shared.

    Derived from the host itself (a hash into SOURCE_NETWORK's four million addresses, the next
    free one on a collision), so registering or removing one modality leaves the others'
    addresses alone save for a colliding pair: while nginx reloads and the replicas take the new
    list, they do not disagree about a modality that did not change.
    """
    first = int(SOURCE_NETWORK.network_address) + 2  # .0 is the network, .1 is "unregistered"
    size = SOURCE_NETWORK.num_addresses - 3  # and the broadcast address is left out
    taken: set[int] = set()
    out: dict[str, str] = {}
    for host in sorted({str(m["Host"]) for m in modalities.values()}):
        digest = hashlib.sha256(host.encode()).digest()
        offset = int.from_bytes(digest[:8], "big") % size
        while offset in taken:
            offset = (offset + 1) % size
        taken.add(offset)
        out[host] = str(ipaddress.IPv4Address(first + offset))
    return out


def entry_modalities(modalities: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The replicas' ``DicomModalities``: same AE titles and ports, at the entry's source address
    for each modality's host."""
    sources = source_addresses(modalities)
    return {name: {**m, "Host": sources[str(m["Host"])]} for name, m in modalities.items()}


def allowed_hosts(modalities: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The source addresses the entry lets in: one per registered modality."""
    return sorted({str(m["Host"]) for m in modalities.values()})


def entry_block(
    *,
    listen: str,
    replicas: Sequence[str],
    modalities: Mapping[str, Mapping[str, Any]],
    balance: str = "least_conn",
    log: str = "",
) -> str:
    """The entry as the stack runs it: the registered hosts only, each from its own address."""
    return stream_block(
        listen=listen,
        replicas=replicas,
        allowed=allowed_hosts(modalities),
        sources=source_addresses(modalities),
        balance=balance,
        log=log,
    )
