"""pure: worker and API configuration, read once from the environment into a frozen value."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class InferenceConfig:
    redis_url: str
    orthanc_url: str
    orthanc_username: str
    orthanc_password: str
    models_dir: Path
    default_model: str
    onnx_threads: int
    http_timeout_s: float
    api_token: str  # callers of the HTTP API send it as a Bearer token; empty: /v1 refuses all
    job_lease_s: int = 30  # a running job's lease in Redis (claims.py); renewed every third
    # The AI core (the HTTP service) that the worker asks to segment a study, and how long the
    # worker waits for one study (fetch, inference, SEG, store).
    inference_url: str = "http://127.0.0.1:8500"
    segment_timeout_s: float = 900.0
    # Signs the job events the worker sends and checks the jobs it runs (NEURONOVA_TASK_KEY).
    task_key: str = field(default="", repr=False)


class ConfigError(ValueError):
    """A required setting is missing or malformed; the process refuses to start."""


def _models_dir(value: str) -> Path:
    # Named explicitly (the stack and the images set it), never guessed from this file's place.
    if not value:
        raise ConfigError(
            "NEURONOVA_MODELS_DIR must name the models folder (the repository's models/)"
        )
    return Path(value)


def from_env(env: Mapping[str, str] | None = None) -> InferenceConfig:
    e = os.environ if env is None else env
    return InferenceConfig(
        redis_url=e.get("NEURONOVA_REDIS_URL", "redis://127.0.0.1:6379/0"),
        orthanc_url=e.get("ORTHANC_URL", "http://127.0.0.1:8042").rstrip("/"),
        orthanc_username=e.get("ORTHANC_USERNAME", "orthanc"),
        orthanc_password=e.get("ORTHANC_PASSWORD", "orthanc"),
        models_dir=_models_dir(e.get("NEURONOVA_MODELS_DIR", "")),
        default_model=e.get("NEURONOVA_MODEL_ID", "nn-brain-tumour-synth"),
        onnx_threads=int(e.get("NEURONOVA_ONNX_THREADS", "0")),
        http_timeout_s=float(e.get("NEURONOVA_HTTP_TIMEOUT_S", "60")),
        api_token=e.get("INFERENCE_API_TOKEN", ""),
        job_lease_s=int(e.get("NEURONOVA_JOB_LEASE_S", "30")),
        inference_url=e.get("INFERENCE_URL", "http://127.0.0.1:8500").rstrip("/"),
        segment_timeout_s=float(e.get("NEURONOVA_SEGMENT_TIMEOUT_S", "900")),
        task_key=e.get("NEURONOVA_TASK_KEY", ""),
    )
