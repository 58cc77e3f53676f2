import contextlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from neuronova_contracts.jobs import JobState
from neuronova_contracts.registry import UnknownModelError, load
from neuronova_contracts.signing import signed
from neuronova_inference import api, worker
from neuronova_inference.claims import Outcome
from neuronova_inference.config import ConfigError, from_env
from neuronova_inference.orthanc_client import TransientError
from neuronova_inference.pipeline import RefusedError
from neuronova_inference.qc import Quality

from tests.support.models import MODELS_DIR

JOB = {
    "job_id": "1.2.3:m:1",
    "study_uid": "1.2.3",
    "orthanc_study_id": "abc",
    "model_id": "m",
    "model_version": "1",
}


class _Claims:
    """The worker's job claims without Redis (tests/integration/scale runs the real ones)."""

    def __init__(self) -> None:
        self.finished: dict[str, str] = {}

    def claim(self, job_id: str) -> Outcome:
        return Outcome.FINISHED if job_id in self.finished else Outcome.RUN

    def release(self, job_id: str) -> None:
        pass

    def finish(self, job_id: str, state: str) -> None:
        self.finished[job_id] = state

    @contextlib.contextmanager
    def heartbeat(self, _job_id: str) -> Iterator[None]:
        yield


@pytest.fixture(autouse=True)
def claims(monkeypatch: pytest.MonkeyPatch) -> _Claims:
    fake = _Claims()
    monkeypatch.setattr(worker, "claims", lambda: fake)
    return fake


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict[str, Any]]]:
    sent = []
    monkeypatch.setattr(
        worker.app, "send_task", lambda name, kwargs, queue: sent.append((name, queue, kwargs))
    )
    return sent


def _run(
    monkeypatch: pytest.MonkeyPatch, behaviour: Callable[[int], Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    calls = []

    def fake_segment(config: object, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return behaviour(len(calls))

    monkeypatch.setattr(worker, "segment", fake_segment)
    kwargs = signed(worker.CONFIG.task_key, worker.TASK_NAME, JOB)
    result = worker.segment_study.apply(kwargs=kwargs).get(disable_sync_subtasks=False)
    return result, calls


def test_task_contract_name_and_delivery_options() -> None:
    assert worker.segment_study.name == "neuronova.inference.segment_study"
    assert worker.app.conf.task_acks_late
    assert worker.app.conf.task_reject_on_worker_lost
    assert worker.app.conf.worker_prefetch_multiplier == 1
    assert worker.app.conf.broker_transport_options["visibility_timeout"] >= 600


def test_refusal_ends_as_skipped_event_with_reason(
    monkeypatch: pytest.MonkeyPatch, events: list[tuple[str, str, dict[str, Any]]]
) -> None:
    def refuse(_: int) -> Any:
        raise RefusedError(JobState.SKIPPED, "missing required sequence(s): FLAIR")

    result, calls = _run(monkeypatch, refuse)
    assert len(calls) == 1
    assert result["state"] == "skipped"
    states = [(name, queue, kw["state"], kw["reason"]) for name, queue, kw in events]
    assert states == [
        ("neuronova.portal.job_event", "portal", "running", ""),
        ("neuronova.portal.job_event", "portal", "skipped", "missing required sequence(s): FLAIR"),
    ]
    assert set(events[-1][2]) == {
        "job_id",
        "study_uid",
        "orthanc_study_id",
        "state",
        "reason",
        "model_id",
        "model_version",
        "seg_series_uid",
        "volumes_ml",
        "qc_score",
        "needs_review",
        "qc",
        "at",
    }
    assert events[-1][2]["qc_score"] is None
    assert events[-1][2]["needs_review"] is False


def test_transient_errors_are_retried_then_succeed(
    monkeypatch: pytest.MonkeyPatch, events: list[tuple[str, str, dict[str, Any]]]
) -> None:
    def flaky(n: int) -> Any:
        if n < 3:
            raise TransientError("Orthanc unreachable")
        quality = Quality(0.42, 0.6, 0.3, 12.0, threshold=0.5)
        return {  # the service's summary (pipeline.summary)
            "seg_series_uid": "1.2.9",
            "volumes_ml": {"Oedema": 1.5},
            "qc_score": round(quality.score, 4),
            "needs_review": quality.needs_review,
            "qc": quality.as_dict(),
        }

    result, calls = _run(monkeypatch, flaky)
    assert len(calls) == 3
    assert result["state"] == "done"
    assert result["seg_series_uid"] == "1.2.9"
    assert result["volumes_ml"] == {"Oedema": 1.5}
    done = events[-1][2]
    assert done["state"] == "done"
    assert done["seg_series_uid"] == "1.2.9"
    # A result under the manifest's QC threshold reaches the portal marked for review.
    assert done["qc_score"] == 0.42
    assert done["needs_review"] is True
    assert done["qc"]["flip_dice"] == 0.6


def test_a_delivery_of_a_job_that_ended_runs_nothing_and_sends_no_event(
    monkeypatch: pytest.MonkeyPatch,
    events: list[tuple[str, str, dict[str, Any]]],
    claims: _Claims,
) -> None:
    claims.finished[JOB["job_id"]] = "done"
    result, calls = _run(monkeypatch, lambda _: None)
    assert (result["state"], calls, events) == ("duplicate", [], [])


def test_a_bug_fails_the_job_once_without_retry(
    monkeypatch: pytest.MonkeyPatch, events: list[tuple[str, str, dict[str, Any]]]
) -> None:
    def broken(_: int) -> Any:
        raise KeyError("oops")

    result, calls = _run(monkeypatch, broken)
    assert len(calls) == 1
    assert result["state"] == "failed"
    assert "internal error: KeyError" in result["reason"]


AUTH = {"Authorization": "Bearer unit-test-token"}
STUDY = "0123abcd-0123abcd-0123abcd-0123abcd-0123abcd"


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "CONFIG", replace(api.CONFIG, api_token="unit-test-token"))


def test_api_health_and_models(token: None) -> None:
    client = TestClient(api.app)
    assert client.get("/healthz").json()["status"] == "ok"
    models = client.get("/v1/models", headers=AUTH).json()
    assert models[0]["model_id"] == "nn-brain-tumour-synth"
    assert models[0]["inputs"] == ["T1", "T1c", "T2", "FLAIR"]
    assert "neuronova_inference_stage_seconds" in client.get("/metrics").text


def test_api_segment_maps_refusals_to_422(monkeypatch: pytest.MonkeyPatch, token: None) -> None:
    def refuse(config: object, **kwargs: Any) -> Any:
        raise RefusedError(JobState.FAILED, "T2 series: slice gap")

    monkeypatch.setattr(api, "segment", refuse)
    response = TestClient(api.app).post(
        "/v1/segment", json={"orthanc_study_id": STUDY}, headers=AUTH
    )
    assert response.status_code == 422
    assert response.json()["detail"] == {"state": "failed", "reason": "T2 series: slice gap"}


def test_api_refuses_everyone_without_a_configured_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "CONFIG", replace(api.CONFIG, api_token=""))
    response = TestClient(api.app).get("/v1/models", headers={"Authorization": "Bearer "})
    assert response.status_code == 503


@pytest.mark.parametrize("model_id", ["../nn-brain-tumour-synth", "nn-brain-tumour-synth/..", ""])
def test_registry_accepts_installed_names_only(model_id: str) -> None:
    with pytest.raises(UnknownModelError):
        load(MODELS_DIR, model_id)
    assert load(MODELS_DIR, "nn-brain-tumour-synth").model_id == "nn-brain-tumour-synth"


def test_the_models_folder_is_named_never_guessed() -> None:
    with pytest.raises(ConfigError, match="NEURONOVA_MODELS_DIR"):
        from_env({"NEURONOVA_REDIS_URL": "redis://127.0.0.1:1/0"})
    assert from_env({"NEURONOVA_MODELS_DIR": str(MODELS_DIR)}).models_dir == MODELS_DIR
