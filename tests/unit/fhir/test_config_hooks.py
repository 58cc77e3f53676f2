"""Config parsing and the portal hook that queues a study's sync."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from celery import Celery
from fhir_sync import config as config_module
from fhir_sync import hooks, store
from fhir_sync.config import DEFAULT_PATIENT_ID_SYSTEM, FhirConfigError, load_config
from kombu.exceptions import OperationalError


def test_empty_base_url_means_sync_off() -> None:
    config = load_config({})
    assert not config.enabled
    assert config.auth == "none"
    assert config.patient_id_system == DEFAULT_PATIENT_ID_SYSTEM


def test_full_oauth2_config_is_parsed_and_trailing_slash_dropped() -> None:
    config = load_config(
        {
            "FHIR_BASE_URL": "https://emr.example/fhir/r4/",
            "FHIR_AUTH": "OAuth2",
            "FHIR_CLIENT_ID": "id",
            "FHIR_CLIENT_SECRET": "secret",
            "FHIR_TOKEN_URL": "https://emr.example/oauth2/token",
            "FHIR_PATIENT_ID_SYSTEM": "urn:oid:1.2.3",
        }
    )
    assert config.enabled
    assert config.base_url == "https://emr.example/fhir/r4"
    assert config.auth == "oauth2"
    assert config.patient_id_system == "urn:oid:1.2.3"


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"FHIR_AUTH": "bearer"}, "FHIR_TOKEN"),
        ({"FHIR_AUTH": "basic", "FHIR_USERNAME": "u"}, "FHIR_PASSWORD"),
        ({"FHIR_AUTH": "oauth2", "FHIR_CLIENT_ID": "i"}, "FHIR_CLIENT_SECRET, FHIR_TOKEN_URL"),
    ],
)
def test_enabled_auth_without_credentials_is_refused(env: dict[str, str], missing: str) -> None:
    with pytest.raises(FhirConfigError, match=missing):
        load_config({"FHIR_BASE_URL": "http://fhir", **env})


def test_unknown_auth_mode_is_refused() -> None:
    with pytest.raises(FhirConfigError, match="FHIR_AUTH"):
        load_config({"FHIR_AUTH": "kerberos"})


class _Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], str | None]] = []

    def send_task(self, name: str, *, kwargs: dict[str, Any], queue: str | None = None) -> None:
        self.sent.append((name, kwargs, queue))


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> _Recorder:
    app = Celery("test-fhir-hooks", broker="memory://", set_as_current=False)
    rec = _Recorder()
    monkeypatch.setattr(app, "send_task", rec.send_task)
    monkeypatch.setattr(hooks, "current_app", app)
    return rec


def _use_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> list[str]:
    monkeypatch.setattr(hooks, "get_config", lambda: load_config(env))
    requested: list[str] = []

    def mark_requested(*, study_uid: str, now: object) -> None:
        requested.append(study_uid)

    monkeypatch.setattr(store, "mark_requested", mark_requested)
    return requested


def test_hook_queues_sync_task_on_portal_queue(
    recorder: _Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    requested = _use_env(monkeypatch, {"FHIR_BASE_URL": "http://fhir"})
    hooks.on_study_updated(study_uid="1.2.3")
    assert recorder.sent == [("neuronova.fhir.sync_study", {"study_uid": "1.2.3"}, "portal")]
    assert requested == ["1.2.3"]


def test_hook_does_nothing_when_sync_is_off(
    recorder: _Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    requested = _use_env(monkeypatch, {})
    hooks.on_study_updated(study_uid="1.2.3")
    assert recorder.sent == []
    assert requested == []


def test_get_config_reads_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    config_module.get_config.cache_clear()
    monkeypatch.setenv("FHIR_BASE_URL", "http://first")
    try:
        first = config_module.get_config()
        monkeypatch.setenv("FHIR_BASE_URL", "http://second")
        assert config_module.get_config() is first
        assert first.base_url == "http://first"
    finally:
        config_module.get_config.cache_clear()


def test_hook_survives_a_broker_outage(monkeypatch: pytest.MonkeyPatch) -> None:
    requested = _use_env(monkeypatch, {"FHIR_BASE_URL": "http://fhir"})

    def send_task(name: str, *, kwargs: dict[str, Any], queue: str | None = None) -> None:
        raise OperationalError("redis down")

    monkeypatch.setattr(hooks, "current_app", SimpleNamespace(send_task=send_task))
    hooks.on_study_updated(study_uid="1.2.3")
    assert requested == ["1.2.3"]


def test_misconfiguration_stops_the_app_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.apps import apps  # noqa: PLC0415

    config_module.get_config.cache_clear()
    monkeypatch.setenv("FHIR_BASE_URL", "http://fhir")
    monkeypatch.setenv("FHIR_AUTH", "bearer")
    monkeypatch.delenv("FHIR_TOKEN", raising=False)
    try:
        with pytest.raises(FhirConfigError, match="FHIR_TOKEN"):
            apps.get_app_config("fhir_sync").ready()
    finally:
        config_module.get_config.cache_clear()


def test_the_portal_worker_beat_schedules_the_pending_resync() -> None:
    from fhir_sync import tasks  # noqa: PLC0415 - registers the task on the shared app
    from neuronova_portal.celery import app  # noqa: PLC0415

    (entry,) = [e for e in app.conf.beat_schedule.values() if e["task"] == tasks.SYNC_PENDING]
    assert entry["options"]["queue"] == tasks.QUEUE
    assert entry["task"] in app.tasks
