"""Adapter (model manifests on disk): SNOMED CT code and display colour of each segment label.

The job events carry only volumes per label name; the model's manifest
(``$NEURONOVA_MODELS_DIR/<model_id>/manifest.json``, the file the inference service loads) names
each label's segmented property type (SCT code) and colour. Only a manifest of exactly the job's
model version is used: a report never shows another version's codes.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings

log = logging.getLogger(__name__)
_MODEL_ID = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")


@dataclass(frozen=True, slots=True)
class LabelInfo:
    snomed_code: str | None
    color_rgb: tuple[int, int, int] | None


def labels_for(model_id: str, model_version: str) -> dict[str, LabelInfo]:
    """Label name → code and colour for that model version; empty when no manifest matches."""
    if not _MODEL_ID.match(model_id) or ".." in model_id:
        return {}
    path = Path(settings.CONFIG.models_dir) / model_id / "manifest.json"
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return {}
    version, labels = _read(path, mtime)
    return labels if version == model_version else {}


@lru_cache(maxsize=32)
def _read(path: Path, _mtime_ns: int) -> tuple[str, dict[str, LabelInfo]]:
    try:
        manifest = json.loads(path.read_text())
        labels = {
            str(label["name"]): LabelInfo(
                snomed_code=_sct_code(label.get("type")),
                color_rgb=_colour(label.get("color_rgb")),
            )
            for label in manifest.get("labels", [])
        }
        return str(manifest.get("version", "")), labels
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("model manifest %s unreadable: %s", path, exc)
        return "", {}


def _sct_code(coded: object) -> str | None:
    if isinstance(coded, dict) and coded.get("scheme") in {"SCT", "SNOMED"} and coded.get("code"):
        return str(coded["code"])
    return None


def _colour(value: object) -> tuple[int, int, int] | None:
    if isinstance(value, list | tuple) and len(value) == 3:
        rgb = tuple(int(v) for v in value)
        if all(0 <= v <= 255 for v in rgb):
            return (rgb[0], rgb[1], rgb[2])
    return None
