"""Adapter (model manifests on disk): SNOMED CT code and display colour of each segment label.

The job events carry only volumes per label name; the model's manifest
(``$NEURONOVA_MODELS_DIR/<model_id>/manifest.json``, the file the inference service loads, read by
the shared parser ``neuronova_contracts``) names each label's segmented property type (SCT code)
and colour. Only a manifest of exactly the job's model version is used: a report never shows
another version's codes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from neuronova_contracts import registry
from neuronova_contracts.manifest import Code, ManifestError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LabelInfo:
    snomed_code: str | None
    color_rgb: tuple[int, int, int] | None


def labels_for(model_id: str, model_version: str) -> dict[str, LabelInfo]:
    """Label name → code and colour for that model version; empty when no manifest matches."""
    models_dir = Path(settings.CONFIG.models_dir)
    if model_id not in registry.installed_ids(models_dir):  # a name, never a path
        return {}
    try:
        mtime = (models_dir / model_id / "manifest.json").stat().st_mtime_ns
    except OSError:
        return {}
    version, labels = _read(models_dir, model_id, mtime)
    return labels if version == model_version else {}


@lru_cache(maxsize=32)
def _read(models_dir: Path, model_id: str, _mtime_ns: int) -> tuple[str, dict[str, LabelInfo]]:
    try:
        manifest = registry.load(models_dir, model_id)
    except (OSError, ValueError, ManifestError) as exc:
        log.warning("model manifest of %s unreadable: %s", model_id, exc)
        return "", {}
    labels = {
        label.name: LabelInfo(snomed_code=_sct_code(label.property_type), color_rgb=label.color_rgb)
        for label in manifest.labels
    }
    return manifest.version, labels


def _sct_code(coded: Code) -> str | None:
    return coded.value if coded.scheme in {"SCT", "SNOMED"} and coded.value else None
