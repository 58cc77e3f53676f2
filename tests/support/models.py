"""Test helpers: the models shipped with the repository (manifest + ONNX), read where every
deployable is configured to read them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
MODELS_DIR = REPO / "models"
SHIPPED_MODEL = "nn-brain-tumour-synth"


def shipped_manifest_raw() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads((MODELS_DIR / SHIPPED_MODEL / "manifest.json").read_text())
    return raw
