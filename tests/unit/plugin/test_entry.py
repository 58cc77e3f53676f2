"""The plugin's wiring on a fake ``orthanc`` module: entry.py registers every feature, callbacks
turn Orthanc's calls into the pure handlers' and never raise into Orthanc, config decides."""

from __future__ import annotations

import atexit
import gc
import io
import runpy
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import imagecodecs
import pydicom
import pytest
from neuronova_plugin import ingest
from neuronova_plugin.config import AiConfig, ConfigError
from neuronova_plugin.host import Request, Response
from neuronova_plugin.plugin import Plugin, register

from tests.support.models import MODELS_DIR
from tests.support.orthanc import synthetic_mr_series
from tests.support.orthanc_sdk import ChangeType, FakeOrthancSdk, ReceivedInstanceAction

REPO = Path(__file__).resolve().parents[3]
ENTRY = REPO / "orthanc-plugins" / "entry.py"
AI_ROUTES = {"/neuronova/seg", "/neuronova/studies/(.*)/reanalyze", "/neuronova/ai/status"}


def _sdk(tmp_path: Path, **neuronova: Any) -> FakeOrthancSdk:
    section = {
        "VarDirectory": str(tmp_path / "var"),
        "ModelsDirectory": str(MODELS_DIR),
        "RedisUrl": "redis://127.0.0.1:1/0",
        **neuronova,
    }
    sdk = FakeOrthancSdk(configuration={"StableAge": 2, "NeuroNova": section})
    sdk.get["/changes?since=0&limit=100"] = {"Changes": [], "Done": True, "Last": 0}
    return sdk


def _no_publisher(_config: AiConfig) -> Any:
    def publish(message: object) -> None:
        raise AssertionError(f"nothing is published in these tests: {message}")

    return publish


@pytest.fixture
def plugin(tmp_path: Path) -> Iterator[tuple[FakeOrthancSdk, Plugin]]:
    sdk = _sdk(tmp_path)
    running = register(sdk, _no_publisher)
    yield sdk, running
    if running.ai is not None:
        running.ai.stop()


def _mr_bytes() -> bytes:
    buffer = io.BytesIO()
    synthetic_mr_series(1, rows=32, columns=32)[0].save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def test_entry_script_registers_every_feature_on_the_module_it_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sdk = _sdk(tmp_path)
    monkeypatch.setitem(sys.modules, "orthanc", sdk)
    # entry.py hands the plugin's process end to atexit: recorded here, never registered in
    # pytest's own process (it would end pytest with status 0).
    at_exit: list[Callable[[], None]] = []
    monkeypatch.setattr(atexit, "register", at_exit.append)
    running: Plugin = runpy.run_path(str(ENTRY))["PLUGIN"]
    try:
        assert running.sdk is sdk
        assert set(sdk.routes) == {"/neuronova/metrics", *AI_ROUTES}
        assert len(sdk.received) == 1
        assert len(sdk.on_change) == 1
        assert running.process_end is not None
        assert at_exit == [running.process_end.at_python_exit]
        assert any("ready" in message for level, message in sdk.logs if level == "warning")
        assert sdk.errors() == []
    finally:
        assert running.ai is not None
        running.ai.stop()


def test_config_is_read_once_from_orthanc(plugin: tuple[FakeOrthancSdk, Plugin]) -> None:
    _, running = plugin
    assert running.config.ai.stable_age_s == 2
    assert running.config.ai.models_directory == MODELS_DIR


def test_received_instance_is_stored_as_htj2k(plugin: tuple[FakeOrthancSdk, Plugin]) -> None:
    sdk, _ = plugin
    action, data = sdk.received[0](_mr_bytes(), None)
    assert action is ReceivedInstanceAction.MODIFY
    assert data is not None
    ds = pydicom.dcmread(io.BytesIO(data))
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.202"


def test_received_instance_kept_as_is_when_nothing_changes(tmp_path: Path) -> None:
    sdk = _sdk(tmp_path, Transcode=False, ZeroPreamble=False, Ai=False)
    register(sdk, _no_publisher)
    assert sdk.received[0](_mr_bytes(), None) == (ReceivedInstanceAction.KEEP_AS_IS, None)


def test_ingest_failure_keeps_the_instance_and_is_logged(
    plugin: tuple[FakeOrthancSdk, Plugin], monkeypatch: pytest.MonkeyPatch
) -> None:
    sdk, _ = plugin

    def broken(*_args: object, **_kwargs: object) -> bytes:
        raise RuntimeError("boom")

    monkeypatch.setattr("neuronova_plugin.plugin.on_received", broken)
    assert sdk.received[0](_mr_bytes(), None) == (ReceivedInstanceAction.KEEP_AS_IS, None)
    assert any("ingest callback failed" in message for message in sdk.errors())


def test_metrics_route_answers_and_refuses_other_methods(
    plugin: tuple[FakeOrthancSdk, Plugin],
) -> None:
    sdk, _ = plugin
    sdk.received[0](_mr_bytes(), None)
    answer = sdk.call("/neuronova/metrics")
    assert answer.status == 200
    assert b"neuronova_ingest_instances_seen_total 1.0" in answer.body
    refused = sdk.call("/neuronova/metrics", method="POST")
    assert (refused.status, refused.allowed) == (405, "GET")


def test_a_route_gets_the_request_and_a_failing_one_answers_500(
    plugin: tuple[FakeOrthancSdk, Plugin],
) -> None:
    sdk, running = plugin
    seen: list[Request] = []

    def echo(request: Request) -> Response:
        seen.append(request)
        return Response(201 if request.body else 200, b"ok")

    def broken(_request: Request) -> Response:
        raise RuntimeError("boom")

    running.route("/echo/(.*)", echo, ("PUT",), "echo")
    running.route("/broken", broken, ("GET",), "broken")
    answer = sdk.call(
        "/echo/(.*)",
        method="PUT",
        groups=("x",),
        get={"a": "1"},
        headers={"X-Thing": "v"},
        body=b"data",
    )
    assert (answer.status, answer.body) == (201, b"ok")
    assert seen == [Request("PUT", ("x",), {"a": "1"}, {"x-thing": "v"}, b"data")]
    failed = sdk.call("/broken")
    assert failed.status == 500
    assert any("route /broken failed" in message for message in sdk.errors())
    sample = running.metrics.registry.get_sample_value(
        "neuronova_route_errors_total", {"route": "broken"}
    )
    assert sample == 1


def test_ai_status_route_and_loop_follow_orthanc(plugin: tuple[FakeOrthancSdk, Plugin]) -> None:
    sdk, running = plugin
    assert running.ai is not None
    on_change = sdk.on_change[0]
    on_change(ChangeType.ORTHANC_STARTED, None, "")
    assert running.ai._thread is not None
    on_change(ChangeType.STABLE_STUDY, None, "study")
    status = sdk.call("/neuronova/ai/status")
    assert status.status == 200
    assert b'"model": "nn-brain-tumour-synth"' in status.body
    on_change(ChangeType.ORTHANC_STOPPED, None, "")
    assert running.ai._thread is None


def test_a_failing_change_callback_is_logged_not_raised(
    plugin: tuple[FakeOrthancSdk, Plugin], monkeypatch: pytest.MonkeyPatch
) -> None:
    sdk, running = plugin

    def broken() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(running.ai, "wake", broken)
    sdk.on_change[0](ChangeType.STABLE_STUDY, None, "study")
    assert any("AI on-change callback failed" in message for message in sdk.errors())


def test_disabled_plugin_registers_nothing(tmp_path: Path) -> None:
    sdk = _sdk(tmp_path, Enabled=False)
    register(sdk, _no_publisher)
    assert (sdk.routes, sdk.received, sdk.on_change) == ({}, [], [])
    assert ("warning", "NeuroNova: plugin disabled by NeuroNova.Enabled=false") in sdk.logs


@pytest.mark.parametrize("value", [False, "false", "False"])
def test_ai_off_in_every_spelling(tmp_path: Path, value: object) -> None:
    sdk = _sdk(tmp_path, Ai=value)
    running = register(sdk, _no_publisher)
    assert running.ai is None
    assert set(sdk.routes) == {"/neuronova/metrics"}
    assert sdk.on_change == []
    assert running.process_end is None  # no on-change callback: orthanc-python stops cleanly


def test_a_malformed_switch_stops_the_plugin_loading(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"NeuroNova\.Ai"):
        register(_sdk(tmp_path, Ai="no"), _no_publisher)


def test_without_a_models_folder_only_the_ai_is_off(tmp_path: Path) -> None:
    sdk = _sdk(tmp_path)
    del sdk.configuration["NeuroNova"]["ModelsDirectory"]
    running = register(sdk, _no_publisher)
    assert running.ai is None
    assert set(sdk.routes) == {"/neuronova/metrics"}
    assert any("ModelsDirectory" in message for message in sdk.errors())


def test_a_broken_model_folder_disables_only_the_ai(tmp_path: Path) -> None:
    sdk = _sdk(tmp_path, ModelsDirectory=str(tmp_path / "no-models"))
    running = register(sdk, _no_publisher)
    assert running.ai is None
    assert set(sdk.routes) == {"/neuronova/metrics"}
    assert len(sdk.received) == 1
    assert any("AI pipeline disabled" in message for message in sdk.errors())


def test_the_plugin_holds_every_rest_callback_it_hands_to_orthanc(
    plugin: tuple[FakeOrthancSdk, Plugin],
) -> None:
    # orthanc-python 7.1 releases its reference to a REST callback at shutdown without the GIL;
    # if that were the last reference, Orthanc died of SIGSEGV on every stop (exit 139). Here
    # Orthanc's reference is left out of the count: each callback must still be alive.
    sdk, running = plugin
    held = [weakref.ref(callback) for callback in sdk.routes.values()]
    sdk.routes.clear()
    gc.collect()
    assert held
    assert all(ref() is not None for ref in held)
    assert len(running.rest_callbacks) == len(held)


def test_the_htj2k_codec_is_loaded_in_the_thread_that_registers_the_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Loaded for the first time inside the received-instance callback (one of Orthanc's own
    # threads), imagecodecs' HTJ2K extension left the embedded interpreter in a state its final
    # garbage collection crashed on: SIGSEGV at the stop of an Orthanc on PostgreSQL that had
    # re-encoded one instance (docs/plugin.md, "Stopping it").
    threads: list[int] = []
    encode = imagecodecs.htj2k_encode

    def spy(*args: Any, **kwargs: Any) -> Any:  # imagecodecs' signature
        threads.append(threading.get_ident())
        return encode(*args, **kwargs)

    monkeypatch.setattr(imagecodecs, "htj2k_encode", spy)
    sdk = _sdk(tmp_path, Ai=False)
    register(sdk, _no_publisher)
    assert threads == [threading.get_ident()]
    assert not any("unavailable" in message for _, message in sdk.logs)


def test_a_missing_codec_is_named_and_ingest_still_registers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "DECODER_MODULES", ("neuronova_no_such_codec",))
    sdk = _sdk(tmp_path, Ai=False)
    register(sdk, _no_publisher)
    assert len(sdk.received) == 1
    assert (
        "warning",
        "NeuroNova: codec neuronova_no_such_codec unavailable: instances that need it are kept",
    ) in sdk.logs


def test_the_process_ends_at_python_exit_only_once_orthanc_has_stopped(
    plugin: tuple[FakeOrthancSdk, Plugin],
) -> None:
    # orthanc-python 7.1 double-frees the changes Orthanc signals after ORTHANC_STOPPED when it
    # unloads (PendingChanges::Clear keeps the pointers its static destructor deletes again):
    # Orthanc died of SIGSEGV on stop. The plugin ends the process first, with status 0.
    sdk, running = plugin
    ending = running.process_end
    assert ending is not None
    exits: list[int] = []
    ending.exit = exits.append
    sdk.on_change[0](ChangeType.ORTHANC_STARTED, None, "")
    ending.at_python_exit()  # Orthanc never got to ORTHANC_STOPPED: it ends its own way
    assert exits == []
    sdk.on_change[0](ChangeType.ORTHANC_STOPPED, None, "")
    assert running.ai is not None
    assert running.ai._thread is None
    ending.at_python_exit()
    assert exits == [0]
    assert any("the process ends here" in message for _, message in sdk.logs)
