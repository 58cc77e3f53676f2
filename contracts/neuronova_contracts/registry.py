"""Adapter (files): the model registry on disk (<models dir>/<model_id>/manifest.json + ONNX).

A model id is a name, never a path: only the names of the folders installed in the models
directory are accepted, whoever asks (an API caller or a job message).
"""

from __future__ import annotations

import json
from pathlib import Path

from neuronova_contracts.manifest import Manifest, ManifestError, parse_manifest


class UnknownModelError(ManifestError):
    """The id names no installed model."""


def installed_ids(models_dir: Path) -> list[str]:
    return sorted(path.parent.name for path in models_dir.glob("*/manifest.json"))


def load(models_dir: Path, model_id: str) -> Manifest:
    if model_id not in installed_ids(models_dir):
        raise UnknownModelError(f"no installed model {model_id[:64]!r}")
    path = models_dir / model_id / "manifest.json"
    return parse_manifest(json.loads(path.read_text()))


def available(models_dir: Path) -> list[Manifest]:
    return [
        parse_manifest(json.loads(p.read_text()))
        for p in sorted(models_dir.glob("*/manifest.json"))
    ]
