"""Adapter: files the stack writes under var/ — private by default — and Orthanc's config.

Rendered files carry secrets (passwords, keys, the broker URL), so they are 0600 unless said
otherwise; their text comes from the pure stack/render.py.
"""

from __future__ import annotations

import json
from pathlib import Path

from stack import modalities, orthanc_root, render
from stack.config import StackConfig


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


def orthanc_json(config: StackConfig) -> str:
    base = json.loads((config.root / "orthanc.json").read_text())
    registered = modalities.read(config.var_dir)
    return json.dumps(
        render.orthanc_config(base, config, codec=built_codec(), modalities=registered), indent=2
    )
