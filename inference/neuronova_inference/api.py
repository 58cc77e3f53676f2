"""wiring: the inference HTTP service (FastAPI), the AI core: the one place a model runs.

    uvicorn neuronova_inference.api:app --port $INFERENCE_PORT     (PYTHONPATH=inference:contracts)

The Celery worker asks it to segment each job's study (core_client.py) and reports the job;
operators and tests call it too. One process holds one ONNX Runtime session per model (loaded at
start-up for the default model), whatever the number of workers.
/healthz answers without touching the model or Orthanc; /v1/segment runs a study synchronously.
Every /v1 route needs `Authorization: Bearer $INFERENCE_API_TOKEN` (the stack generates the token
into var/secrets.env; compose takes it from .env); without a configured token they refuse all.
The service listens on loopback (native) or the compose network only, never a published port.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import onnxruntime as ort  # type: ignore[import-untyped]
from fastapi import Depends, FastAPI, HTTPException
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from neuronova_contracts.manifest import ManifestError
from neuronova_contracts.registry import UnknownModelError, available, installed_ids
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from neuronova_inference.config import from_env
from neuronova_inference.metrics import REGISTRY as METRICS_REGISTRY
from neuronova_inference.orthanc_client import NotFoundError, StoreRejectedError, TransientError
from neuronova_inference.pipeline import RefusedError
from neuronova_inference.service import model, segment
from neuronova_inference.session import ModelIntegrityError, providers

CONFIG = from_env()


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    # The default model's session is made when the service starts, not inside the first job.
    try:
        await run_in_threadpool(model, CONFIG, CONFIG.default_model)
    except (ManifestError, ModelIntegrityError, OSError) as exc:
        print(f"neuronova inference: default model not loaded: {exc}", flush=True)
    yield


app = FastAPI(title="NeuroNova inference", version="1.0.0", lifespan=_lifespan)
_BEARER = HTTPBearer(auto_error=False)
ORTHANC_ID = r"^[0-9a-f]{8}(-[0-9a-f]{8}){4}$"


def caller(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
) -> None:
    """Only callers holding the shared API token get past this."""
    if not CONFIG.api_token:
        raise HTTPException(503, detail="INFERENCE_API_TOKEN is not configured")
    given = credentials.credentials if credentials is not None else ""
    if not hmac.compare_digest(given.encode(), CONFIG.api_token.encode()):
        raise HTTPException(401, detail="not authenticated", headers={"WWW-Authenticate": "Bearer"})


Authenticated = Depends(caller)


class SegmentRequest(BaseModel):
    orthanc_study_id: str = Field(pattern=ORTHANC_ID)
    model_id: str | None = Field(default=None, max_length=128)
    model_version: str | None = None
    job_id: str | None = Field(default=None, max_length=200)  # the worker's job, in the SEG's notes
    store: bool = False  # also POST the SEG to the plugin's /neuronova/seg route
    include_seg: bool = True  # return the SEG bytes (base64) in the answer


@app.get("/healthz")
def healthz() -> dict[str, Any]:
    return {"status": "ok", "providers": ort.get_available_providers()}


@app.get("/metrics")
def metrics() -> PlainTextResponse:
    return PlainTextResponse(
        generate_latest(METRICS_REGISTRY).decode(), media_type=CONTENT_TYPE_LATEST
    )


@app.get("/v1/models", dependencies=[Authenticated])
def models() -> list[dict[str, Any]]:
    return [
        {
            "model_id": m.model_id,
            "version": m.version,
            "name": m.name,
            "inputs": [i.name for i in m.inputs],
            "labels": [
                {"value": lab.value, "name": lab.name, "color_rgb": list(lab.color_rgb)}
                for lab in m.labels
            ],
            "grid": {"shape": list(m.grid.shape), "spacing_mm": list(m.grid.spacing_mm)},
            "sha256": m.sha256,
            "providers": providers(),
        }
        for m in available(CONFIG.models_dir)
    ]


@app.post("/v1/segment", dependencies=[Authenticated])
async def segment_study(request: SegmentRequest) -> dict[str, Any]:
    model_id = request.model_id or CONFIG.default_model
    job = {"job_id": request.job_id or f"api:{request.orthanc_study_id}:{model_id}"}
    try:
        outcome = await run_in_threadpool(
            segment,
            CONFIG,
            orthanc_study_id=request.orthanc_study_id,
            model_id=model_id,
            model_version=request.model_version,
            store=request.store,
            job=job,
        )
    except RefusedError as exc:
        raise HTTPException(422, detail={"state": exc.state, "reason": exc.reason}) from exc
    except UnknownModelError as exc:
        detail = {"reason": "unknown model", "installed": installed_ids(CONFIG.models_dir)}
        raise HTTPException(422, detail=detail) from exc
    except NotFoundError as exc:
        raise HTTPException(404, detail=str(exc)) from exc
    except (ManifestError, ModelIntegrityError) as exc:
        raise HTTPException(404, detail=f"model unavailable: {exc}") from exc
    except StoreRejectedError as exc:
        raise HTTPException(409, detail=str(exc)) from exc
    except TransientError as exc:
        raise HTTPException(503, detail=str(exc)) from exc
    body = outcome.summary(orthanc_study_id=request.orthanc_study_id, stored=outcome.stored)
    if request.include_seg:
        body["seg"] = base64.b64encode(outcome.analysis.seg_bytes).decode()
    return body
