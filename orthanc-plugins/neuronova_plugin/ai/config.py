"""Pure: the AI keys of the ``NeuroNova`` section of the Orthanc configuration, read once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# orthanc-plugins/neuronova_plugin/ai/config.py -> repository root
_REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True, slots=True)
class AiConfig:
    enabled: bool
    redis_url: str
    var_directory: Path
    models_directory: Path
    model_id: str
    poll_seconds: float
    stable_age_s: float

    @property
    def database(self) -> Path:
        return self.var_directory / "ai" / "jobs.sqlite"


def ai_config(orthanc_config: Mapping[str, Any]) -> AiConfig:
    section = orthanc_config.get("NeuroNova") or {}
    return AiConfig(
        enabled=bool(section.get("Ai", True)),
        redis_url=str(section.get("RedisUrl", "redis://127.0.0.1:6379/0")),
        var_directory=Path(str(section.get("VarDirectory", "var"))),
        models_directory=Path(str(section.get("ModelsDirectory", _REPO / "inference" / "models"))),
        model_id=str(section.get("AiModel", "nn-brain-tumour-synth")),
        poll_seconds=float(section.get("AiPollSeconds", 1.0)),
        stable_age_s=float(orthanc_config.get("StableAge", 60)),
    )
