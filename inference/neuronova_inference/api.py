"""wiring: the inference HTTP service (FastAPI), used for re-analysis, tests and operators.

    uvicorn neuronova_inference.api:app --port $INFERENCE_PORT     (PYTHONPATH=inference)

/healthz answers without touching the model or Orthanc; /v1/segment runs a study synchronously.
"""

from __future__ import annotations

import base64
from typing import Any

import onnxruntime as ort  # type: ignore[import-untyped]
from fastapi import FastAPI, HTTPException
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from neuronova_inference.config import from_env
from neuronova_inference.manifest import ManifestError
from neuronova_inference.metrics import REGISTRY as METRICS_REGISTRY
from neuronova_inference.orthanc_client import NotFoundError, StoreRejectedError, TransientError
from neuronova_inference.pipeline import RefusedError
from neuronova_inference.registry import available
from neuronova_inference.service import segment
from neuronova_inference.session import ModelIntegrityError, providers

CONFIG = from_env()
app = FastAPI(title="NeuroNova inference", version="1.0.0")


class SegmentRequest(BaseModel):
    orthanc_study_id: str
    model_id: str | None = None
    model_version: str | None = None
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


@app.get("/v1/models")
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


@app.post("/v1/segment")
async def segment_study(request: SegmentRequest) -> dict[str, Any]:
    model_id = request.model_id or CONFIG.default_model
    job = {"job_id": f"api:{request.orthanc_study_id}:{model_id}"}
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
