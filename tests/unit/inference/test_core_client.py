"""The worker asks the AI core (the HTTP service) to segment; its answers become the outcomes
the worker decides on, as when it ran the pipeline itself."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from neuronova_contracts.jobs import JobState
from neuronova_contracts.manifest import ManifestError
from neuronova_inference import api, core_client
from neuronova_inference.orthanc_client import NotFoundError, StoreRejectedError, TransientError
from neuronova_inference.pipeline import RefusedError

JOB = {
    "job_id": "0123abcd-0123abcd-0123abcd-0123abcd-0123abcd:m:1",
    "study_uid": "1.2.3",
    "orthanc_study_id": "0123abcd-0123abcd-0123abcd-0123abcd-0123abcd",
    "model_id": "m",
    "model_version": "1",
}
CONFIG = replace(api.CONFIG, api_token="core-token", inference_url="http://core")


def _answer(monkeypatch: pytest.MonkeyPatch, status: int, body: object) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    def post(url: str, **kwargs: Any) -> httpx.Response:
        sent.append({"url": url, **kwargs})
        return httpx.Response(status, json=body, request=httpx.Request("POST", url))

    monkeypatch.setattr(httpx, "post", post)
    return sent


def test_the_worker_asks_the_service_to_segment_and_store(monkeypatch: pytest.MonkeyPatch) -> None:
    sent = _answer(monkeypatch, 200, {"seg_series_uid": "1.2.9", "volumes_ml": {"a": 1.0}})
    assert core_client.segment(CONFIG, job=JOB)["seg_series_uid"] == "1.2.9"
    (call,) = sent
    assert call["url"] == "http://core/v1/segment"
    assert call["headers"] == {"Authorization": "Bearer core-token"}
    assert call["json"]["store"] is True
    assert call["json"]["include_seg"] is False
    assert call["json"]["job_id"] == JOB["job_id"]
    assert call["timeout"] == CONFIG.segment_timeout_s


@pytest.mark.parametrize(
    ("status", "detail", "error", "text"),
    [
        (422, {"state": "skipped", "reason": "missing FLAIR"}, RefusedError, "missing FLAIR"),
        (422, {"reason": "unknown model", "installed": []}, ManifestError, "no installed model"),
        (404, "model unavailable: sha256 mismatch", ManifestError, "sha256 mismatch"),
        (404, "GET /studies/x: HTTP 404", NotFoundError, "GET /studies/x"),
        (409, "SEG refused: other frame of reference", StoreRejectedError, "frame of reference"),
        (503, "Orthanc unreachable", TransientError, "HTTP 503"),
        (401, "not authenticated", core_client.ServiceRefusedError, "HTTP 401"),
    ],
)
def test_answers_map_onto_the_pipelines_outcomes(
    monkeypatch: pytest.MonkeyPatch, status: int, detail: object, error: type, text: str
) -> None:
    _answer(monkeypatch, status, {"detail": detail})
    with pytest.raises(error, match=text) as raised:
        core_client.segment(CONFIG, job=JOB)
    if isinstance(raised.value, RefusedError):
        assert raised.value.state is JobState.SKIPPED


def test_a_service_that_does_not_answer_is_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    def post(url: str, **_kwargs: Any) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=httpx.Request("POST", url))

    monkeypatch.setattr(httpx, "post", post)
    with pytest.raises(TransientError):
        core_client.segment(CONFIG, job=JOB)


def test_the_service_answers_what_the_client_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both ends in one test: the API's refusal reaches the worker as the same RefusedError."""

    def refuse(config: object, **kwargs: Any) -> Any:
        assert kwargs["job"] == {"job_id": JOB["job_id"]}
        assert kwargs["store"] is True
        raise RefusedError(JobState.FAILED, "T2 series: slice gap")

    monkeypatch.setattr(api, "segment", refuse)
    monkeypatch.setattr(api, "CONFIG", CONFIG)
    service = TestClient(api.app, base_url="http://core")

    def post(url: str, **kwargs: Any) -> httpx.Response:
        del kwargs["timeout"]
        response: httpx.Response = service.post(url, **kwargs)
        return response

    monkeypatch.setattr(httpx, "post", post)
    with pytest.raises(RefusedError, match="slice gap") as raised:
        core_client.segment(CONFIG, job=JOB)
    assert raised.value.state is JobState.FAILED
