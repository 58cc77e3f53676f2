"""Adapter (the inference HTTP service): the worker asks the AI core to segment a study.

The service (neuronova_inference.api) is the one process that loads models and runs ONNX
Runtime, one session per model, so GPU memory does not multiply with the workers' concurrency;
it fetches and decodes the series from Orthanc, infers, builds the SEG and stores it. The worker
queues, claims, retries and reports the job. The service's answers map back onto the pipeline's
outcomes, so the worker decides exactly as when it ran the model itself.
"""

from __future__ import annotations

from typing import Any

import httpx
from neuronova_contracts.jobs import JobState
from neuronova_contracts.manifest import ManifestError

from neuronova_inference.config import InferenceConfig
from neuronova_inference.orthanc_client import NotFoundError, StoreRejectedError, TransientError
from neuronova_inference.pipeline import RefusedError

_MODEL_UNAVAILABLE = "model unavailable: "


class ServiceRefusedError(RuntimeError):
    """The service refused the worker itself (token, request): a configuration fault."""


def segment(config: InferenceConfig, *, job: dict[str, Any]) -> dict[str, Any]:
    """Segment the job's study and store its SEG; the service's summary (seg_series_uid,
    volumes_ml, qc_score, needs_review, qc). Raises RefusedError, TransientError, NotFoundError,
    StoreRejectedError, ManifestError or ServiceRefusedError."""
    body = {
        "orthanc_study_id": job["orthanc_study_id"],
        "model_id": job["model_id"],
        "model_version": job["model_version"],
        "job_id": job["job_id"],
        "store": True,
        "include_seg": False,
    }
    try:
        response = httpx.post(
            f"{config.inference_url}/v1/segment",
            json=body,
            headers={"Authorization": f"Bearer {config.api_token}"},
            timeout=config.segment_timeout_s,
        )
    except httpx.TransportError as exc:
        raise TransientError(f"inference service: {exc!r}") from exc
    if response.status_code == 200:
        summary: dict[str, Any] = response.json()
        return summary
    raise _failure(response.status_code, _detail(response), job)


def _detail(response: httpx.Response) -> object:
    try:
        return response.json().get("detail")
    except (ValueError, AttributeError):
        return response.text.strip()[:500]


def _failure(status: int, detail: object, job: dict[str, Any]) -> Exception:
    """The exception the worker would have met running the pipeline itself (api.py's codes)."""
    text = str(detail)
    if status == 422:
        if isinstance(detail, dict) and "state" in detail:
            return RefusedError(JobState(str(detail["state"])), str(detail.get("reason", "")))
        return ManifestError(f"no installed model {str(job['model_id'])[:64]!r}")
    if status == 404:
        if text.startswith(_MODEL_UNAVAILABLE):
            return ManifestError(text.removeprefix(_MODEL_UNAVAILABLE))
        return NotFoundError(text)
    if status == 409:
        return StoreRejectedError(text)
    error = TransientError if status >= 500 else ServiceRefusedError
    return error(f"inference service answered HTTP {status}: {text}")
