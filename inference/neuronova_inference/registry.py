"""adapter: the model registry on disk (inference/models/<model_id>/manifest.json + ONNX file)."""

from __future__ import annotations

import json
from pathlib import Path

from neuronova_inference.manifest import Manifest, ManifestError, parse_manifest

DEFAULT_MODELS_DIR = Path(__file__).resolve().parents[1] / "models"


def load(models_dir: Path, model_id: str) -> Manifest:
    path = models_dir / model_id / "manifest.json"
    if not path.is_file():
        raise ManifestError(f"no model {model_id!r} in {models_dir}")
    return parse_manifest(json.loads(path.read_text()))


def available(models_dir: Path) -> list[Manifest]:
    return [
        parse_manifest(json.loads(p.read_text()))
        for p in sorted(models_dir.glob("*/manifest.json"))
    ]
