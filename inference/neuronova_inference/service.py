"""wiring: the per-process pieces shared by the Celery worker and the HTTP API.

One ONNX Runtime session per model per process, created on first use and kept.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from neuronova_contracts.jobs import JobState
from neuronova_contracts.manifest import Manifest
from neuronova_contracts.registry import load

from neuronova_inference.config import InferenceConfig
from neuronova_inference.decode import pixels
from neuronova_inference.metrics import observe_stages
from neuronova_inference.orthanc_client import OrthancClient
from neuronova_inference.pipeline import Analysis, RefusedError, Timings, run_study, summary
from neuronova_inference.session import OnnxModel

_MODELS: dict[tuple[str, str], OnnxModel] = {}
_LOCK = threading.Lock()


def model(config: InferenceConfig, model_id: str) -> OnnxModel:
    key = (str(config.models_dir), model_id)
    with _LOCK:
        if key not in _MODELS:
            manifest = load(config.models_dir, model_id)
            _MODELS[key] = OnnxModel(
                manifest, config.models_dir / model_id, threads=config.onnx_threads
            )
        return _MODELS[key]


@dataclass(frozen=True)
class Outcome:
    analysis: Analysis
    manifest: Manifest
    timings: dict[str, float]
    stored: dict[str, Any] | None

    def summary(self, **extra: Any) -> dict[str, Any]:  # noqa: ANN401
        return summary(self.analysis, self.manifest, {**extra, "timings_s": self.timings})


def segment(
    config: InferenceConfig,
    *,
    orthanc_study_id: str,
    model_id: str,
    model_version: str | None,
    store: bool,
    job: dict[str, Any],
) -> Outcome:
    """Run one study; raises RefusedError, TransientError, StoreRejectedError or NotFoundError."""
    net = model(config, model_id)
    manifest = net.manifest
    if model_version and model_version != manifest.version:
        raise RefusedError(
            JobState.FAILED,
            f"model {model_id} version {model_version} is not installed (have {manifest.version})",
        )
    client = OrthancClient(config)
    timings = Timings()
    try:
        analysis = run_study(
            orthanc_study_id, manifest, client, predict=net, decode=pixels, timings=timings
        )
        stored = None
        if store:
            with timings.stage("store"):
                stored = client.store_seg(
                    analysis.seg_bytes,
                    summary(analysis, manifest, {**job, "orthanc_study_id": orthanc_study_id}),
                )
    finally:
        client.close()
    observe_stages(timings.stages)
    return Outcome(analysis, manifest, dict(timings.stages), stored)
