"""Adapter: the modalities allowed to store by DICOM — `var/modalities.json` and Orthanc's copy.

Orthanc accepts an association only from a registered calling AE title on its registered IP
address, addressed to its own AE title (orthanc.json: DicomAlwaysAllowStore/Echo false,
DicomCheckCalledAet and DicomCheckModalityHost true). The file is the list an administrator
keeps (`python -m stack modality add|remove|list`); every `make up` renders it into Orthanc's
DicomModalities and also applies it to a running Orthanc through its REST API, so a change takes
effect without restarting Orthanc.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

from stack.config import ConfigError, StackConfig
from stack.orthanc_cluster import replica_modalities

FILE_NAME = "modalities.json"
_AET = re.compile(r"\A[A-Za-z0-9 ._-]{1,16}\Z")


def path(var_dir: Path) -> Path:
    return var_dir / FILE_NAME


def entry(aet: str, host: str, port: int = 104) -> dict[str, Any]:
    """One registered modality as Orthanc's DicomModalities takes it; may store and echo only."""
    if not _AET.match(aet) or aet != aet.strip():
        raise ConfigError(f"{aet!r} is not a DICOM AE title (1-16 letters, digits, ' ._-')")
    try:
        host = str(ipaddress.ip_address(host))  # one spelling: nginx's geo and Orthanc compare it
    except ValueError as exc:
        # Orthanc compares the peer's address with this text: a host name would never match.
        raise ConfigError(f"{host!r} is not an IP address (DicomCheckModalityHost)") from exc
    if not 0 < port < 65536:
        raise ConfigError(f"port {port} is out of range")
    return {
        "AET": aet,
        "Host": host,
        "Port": port,
        "AllowEcho": True,
        "AllowStore": True,
        "AllowFind": False,
        "AllowGet": False,
        "AllowMove": False,
        "AllowStorageCommitment": False,
    }


def read(var_dir: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path(var_dir).read_text())
    except FileNotFoundError:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path(var_dir)} must hold a JSON object")
    return {
        str(name): entry(str(value["AET"]), str(value["Host"]), int(value["Port"]))
        for name, value in data.items()
    }


def write(var_dir: Path, modalities: dict[str, dict[str, Any]]) -> None:
    target = path(var_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(modalities, indent=2, sort_keys=True) + "\n")
    target.chmod(0o600)


def _orthanc(
    config: StackConfig, url: str, method: str, uri: str, body: bytes | None = None
) -> bytes:
    request = urllib.request.Request(url + uri, data=body, method=method)  # noqa: S310
    token = f"{config.orthanc_username}:{config.orthanc_password}".encode()
    request.add_header("Authorization", "Basic " + base64.b64encode(token).decode())
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own http URL
        return bytes(response.read())


def apply_live(config: StackConfig, modalities: dict[str, dict[str, Any]]) -> bool:
    """Make each running Orthanc's DicomModalities equal the file (behind the DICOM entry, at
    the entry's source address for each host: orthanc_cluster). False when an Orthanc is down:
    it reads the rendered configuration when it starts; every running one is updated anyway."""
    members = config.orthanc_replicas
    wanted = replica_modalities(modalities, count=len(members))
    applied = True
    for replica in members:
        try:
            _apply(config, f"http://127.0.0.1:{replica.http_port}", wanted)
        except urllib.error.HTTPError as error:
            raise ConfigError(
                f"{replica.name} refused the modalities: HTTP {error.code} {error.reason}"
            ) from error
        except (urllib.error.URLError, OSError):
            applied = False
    return applied


def _apply(config: StackConfig, url: str, modalities: dict[str, dict[str, Any]]) -> None:
    known = json.loads(_orthanc(config, url, "GET", "/modalities"))
    for name in sorted(set(known) - set(modalities)):
        _orthanc(config, url, "DELETE", f"/modalities/{quote(name, safe='')}")
    for name, value in sorted(modalities.items()):
        body = json.dumps(value).encode()
        _orthanc(config, url, "PUT", f"/modalities/{quote(name, safe='')}", body)
