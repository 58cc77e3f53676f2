"""Adapter: files the stack writes under var/ — private by default — and Orthanc's config.

Rendered files carry secrets (passwords, keys, the broker URL), so they are 0600 unless said
otherwise; their text comes from the pure stack/render.py.
"""

from __future__ import annotations

import json
from pathlib import Path

from stack import modalities, orthanc_cluster, orthanc_root, render
from stack.config import StackConfig
from stack.orthanc_cluster import Replica


def say(message: str) -> None:
    print(f"[stack] {message}", flush=True)


def write_if_changed(path: Path, text: str, *, mode: int = 0o600) -> bool:
    """Files rendered under var/ hold secrets (passwords, keys): root's alone by default."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_text() == text:
        path.chmod(mode)
        return False
    path.write_text(text)
    path.chmod(mode)
    return True


def built_codec() -> Path | None:
    """The native HTJ2K codec plugin, once bootstrap has built it."""
    return orthanc_root.CODEC_PLUGIN if orthanc_root.CODEC_PLUGIN.is_file() else None


def orthanc_json(config: StackConfig, replica: Replica | None = None) -> str:
    base = json.loads((config.root / "orthanc.json").read_text())
    registered = modalities.read(config.var_dir)
    rendered = render.orthanc_config(
        base, config, codec=built_codec(), modalities=registered, replica=replica
    )
    return json.dumps(rendered, indent=2)


def orthanc_files(config: StackConfig) -> dict[Path, str]:
    """Each replica's Orthanc configuration and nginx's includes for the DICOM entry and the
    replicas' loopback HTTP upstream (comments only when Orthanc runs alone)."""
    members = config.orthanc_replicas
    nginx = config.var_dir / "nginx"
    files = {r.config_path: orthanc_json(config, r) for r in members}
    files[nginx / "main-dicom-entry.conf"] = orthanc_cluster.nginx_main(
        members,
        dicom_port=config.orthanc_dicom_port,
        modalities=modalities.read(config.var_dir),
        log=config.log_dir / orthanc_cluster.ENTRY_LOG,
    )
    files[nginx / "http-orthanc-replicas.conf"] = orthanc_cluster.nginx_http(
        members, http_port=config.orthanc_http_port
    )
    return files
