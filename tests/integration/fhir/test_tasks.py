"""The Celery task against a real FHIR server: retries on 5xx, recorded 4xx errors, idempotence,
amendment, and the scrape-time metrics computed from the recorded state."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from celery._state import get_current_app
from fhir_sync import metrics, store, tasks
from fhir_sync.config import load_config
from fhir_sync.models import FhirSyncState, SyncStatus
from fhir_sync.values import StudySnapshot
from neuronova_contracts.signing import KEY_ENV, signed
from neuronova_portal.celery import app
from prometheus_client import CollectorRegistry

from tests.support.fhir_server import FhirTestServer
from tests.support.fhir_values import STUDY_UID, reanalysed, snapshot

pytestmark = pytest.mark.django_db


class _Portal:
    """Stands in for the portal's tables: the snapshot the task will read."""

    def __init__(self) -> None:
        self.current: StudySnapshot | None = snapshot()

    def load(self, *, study_uid: str) -> StudySnapshot | None:
        if self.current is None or study_uid != self.current.study.study_uid:
            return None
        return self.current


@pytest.fixture
def portal(fhir_server: FhirTestServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[_Portal]:
    config = load_config({"FHIR_BASE_URL": fhir_server.base_url, "FHIR_MAX_RETRIES": "3"})
    fake = _Portal()
    monkeypatch.setattr(tasks, "get_config", lambda: config)
    monkeypatch.setattr(tasks, "backoff_s", lambda retries: 0)
    monkeypatch.setattr(tasks, "load_snapshot", fake.load)
    # Celery runs retries and re-queued syncs inline in eager mode. The tasks are shared tasks,
    # bound to whichever Celery app is current; in a full session importing the inference worker
    # makes its app current, so the portal's app is made current here and restored after.
    previous = get_current_app()
    app.set_current()
    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield fake
    finally:
        app.conf.task_always_eager = saved
        previous.set_current()


def _run(study_uid: str = STUDY_UID) -> object:
    kwargs = signed(os.environ[KEY_ENV], tasks.SYNC_STUDY, {"study_uid": study_uid})
    return tasks.sync_study.apply(kwargs=kwargs).get(propagate=False)


def _state(study_uid: str = STUDY_UID) -> FhirSyncState:
    state = store.state_of(study_uid=study_uid)
    assert state is not None
    return state


def test_sync_records_success_and_rerun_writes_nothing(
    portal: _Portal, fhir_server: FhirTestServer
) -> None:
    store.mark_requested(study_uid=STUDY_UID, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert _run() == "synced"
    state = _state()
    assert state.status == SyncStatus.SYNCED
    assert state.requested_at is None
    assert state.resources_sent == 6  # Patient, ImagingStudy, Device, 2 Observations, report
    (report,) = fhir_server.search("DiagnosticReport")
    assert state.resource_ids["DiagnosticReport"] == [report["id"]]
    writes = fhir_server.stats()["writes"]

    assert _run() == "synced"
    assert _state().resources_sent == 6
    assert fhir_server.stats()["writes"] == writes


def test_reanalysis_amends_the_report(portal: _Portal, fhir_server: FhirTestServer) -> None:
    _run()
    assert portal.current is not None
    portal.current = reanalysed(portal.current, job_id="job-2", volumes=(1.0, 2.0))
    _run()
    (report,) = fhir_server.search("DiagnosticReport")
    assert report["status"] == "amended"
    assert sorted(o["valueQuantity"]["value"] for o in fhir_server.search("Observation")) == [
        1.0,
        2.0,
    ]


def test_server_errors_then_recovery_end_synced(
    portal: _Portal, fhir_server: FhirTestServer
) -> None:
    fhir_server.fail(status=500, count=2)
    _run()
    state = _state()
    assert state.status == SyncStatus.SYNCED
    assert state.failures == 2
    assert state.attempts == 3
    assert state.last_error == ""
    assert len(fhir_server.search("ImagingStudy")) == 1
    assert len(fhir_server.search("DiagnosticReport")) == 1


def test_retries_run_out_and_record_the_error(portal: _Portal, fhir_server: FhirTestServer) -> None:
    fhir_server.fail(status=503, count=100)
    assert _run() == "failed"
    state = _state()
    assert state.status == SyncStatus.FAILED
    assert state.attempts == 4  # the first try + FHIR_MAX_RETRIES
    assert "answered 503" in state.last_error


def test_refusal_records_a_clear_error_without_retrying(
    portal: _Portal, fhir_server: FhirTestServer
) -> None:
    fhir_server.fail(status=400, count=1)
    assert _run() == "failed"
    state = _state()
    assert state.status == SyncStatus.FAILED
    assert state.attempts == 1
    assert "GET Patient answered 400: injected failure 400" in state.last_error
    assert fhir_server.search("Patient") == []


def test_unknown_study_is_recorded_as_failed(portal: _Portal) -> None:
    assert _run("1.2.3.404") == "failed"
    assert "unknown to the portal" in _state("1.2.3.404").last_error


def test_metrics_report_sent_failed_and_lag(portal: _Portal, fhir_server: FhirTestServer) -> None:
    fhir_server.fail(status=500, count=1)
    _run()
    store.mark_requested(study_uid="1.2.3.waiting", now=datetime(2020, 1, 1, tzinfo=UTC))
    registry = CollectorRegistry()
    metrics.register(registry)

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert value("neuronova_fhir_sync_resources_sent_total") == 6
    assert value("neuronova_fhir_sync_failures_total") == 1
    assert value("neuronova_fhir_sync_studies", status="synced") == 1
    assert value("neuronova_fhir_sync_studies", status="pending") == 1
    assert value("neuronova_fhir_sync_studies", status="failed") == 0
    lag = value("neuronova_fhir_sync_lag_seconds")
    assert lag is not None
    assert lag > 86400 * 365


def test_pending_studies_are_requeued(portal: _Portal) -> None:
    store.mark_requested(study_uid=STUDY_UID, now=datetime(2020, 1, 1, tzinfo=UTC))
    kwargs = signed(os.environ[KEY_ENV], tasks.SYNC_PENDING, {"older_than_s": 60})
    assert tasks.sync_pending.apply(kwargs=kwargs).get() == 1
    assert _state().status == SyncStatus.SYNCED


def test_disabled_sync_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks, "get_config", lambda: load_config({}))
    kwargs = signed(os.environ[KEY_ENV], tasks.SYNC_STUDY, {"study_uid": STUDY_UID})
    assert tasks.sync_study.apply(kwargs=kwargs).get() == "disabled"
    assert store.state_of(study_uid=STUDY_UID) is None


def test_a_request_during_the_sync_makes_it_sync_again_with_the_newer_study(
    portal: _Portal, fhir_server: FhirTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.mark_requested(study_uid=STUDY_UID, now=datetime(2026, 1, 1, tzinfo=UTC))
    first = portal.current
    assert first is not None
    reads: list[StudySnapshot | None] = []

    def load(*, study_uid: str) -> StudySnapshot | None:
        read = portal.load(study_uid=study_uid)
        if not reads:  # the study changes right after this sync read it; a sync is asked
            portal.current = reanalysed(first, job_id="job-2", volumes=(1.0, 2.0))
            store.mark_requested(study_uid=STUDY_UID, now=datetime(2026, 1, 2, tzinfo=UTC))
        reads.append(read)
        return read

    monkeypatch.setattr(tasks, "load_snapshot", load)
    assert _run() == "synced"
    assert [r.results[0].job_id for r in reads if r is not None] == ["job-1", "job-2"]
    (report,) = fhir_server.search("DiagnosticReport")
    assert report["status"] == "amended"
    state = _state()
    assert (state.status, state.requested_at, state.attempts) == (SyncStatus.SYNCED, None, 2)


def test_a_study_that_keeps_changing_is_left_to_a_later_task(
    portal: _Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[str] = []

    def load(*, study_uid: str) -> StudySnapshot | None:
        store.mark_requested(study_uid=study_uid, now=datetime(2026, 1, 1, tzinfo=UTC))
        return portal.load(study_uid=study_uid)

    monkeypatch.setattr(tasks, "load_snapshot", load)
    monkeypatch.setattr(tasks, "_send", sent.append)
    assert _run() == "pending"
    assert sent == [STUDY_UID]
    state = _state()
    assert (state.status, state.attempts) == (SyncStatus.PENDING, tasks.MAX_ROUNDS)
