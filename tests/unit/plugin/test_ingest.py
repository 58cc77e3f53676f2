"""The ingest step: counts, logs, keeps the original on any error, zeroes preambles."""

from __future__ import annotations

import io

import pytest
from neuronova_plugin import ingest
from neuronova_plugin.config import PluginConfig
from neuronova_plugin.metrics import PluginMetrics

from tests.support.orthanc import synthetic_mr_series


class FakeHost:
    def __init__(self) -> None:
        self.logs: list[tuple[str, str]] = []

    def rest_get(self, uri: str) -> bytes:
        raise AssertionError(uri)

    def rest_post(self, uri: str, body: bytes) -> bytes:
        raise AssertionError(uri)

    def rest_delete(self, uri: str) -> None:
        raise AssertionError(uri)

    def log_info(self, message: str) -> None:
        self.logs.append(("info", message))

    def log_warning(self, message: str) -> None:
        self.logs.append(("warning", message))

    def log_error(self, message: str) -> None:
        self.logs.append(("error", message))


def _mr_bytes(preamble: bytes = b"\0" * 128) -> bytes:
    ds = synthetic_mr_series(1, rows=32, columns=32)[0]
    ds.preamble = preamble
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _sample(metrics: PluginMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_transcoded_instance_is_counted() -> None:
    metrics, host = PluginMetrics(), FakeHost()
    data = _mr_bytes()
    out = ingest.on_received(data, config=PluginConfig(), metrics=metrics, host=host)
    assert out is not None
    assert _sample(metrics, "neuronova_ingest_instances_seen_total") == 1
    assert (
        _sample(
            metrics,
            "neuronova_ingest_instances_transcoded_total",
            transfer_syntax="1.2.840.10008.1.2.4.202",
        )
        == 1
    )
    assert _sample(metrics, "neuronova_ingest_bytes_in_total") == len(data)
    assert _sample(metrics, "neuronova_ingest_bytes_out_total") == len(out)
    assert _sample(metrics, "neuronova_ingest_encode_seconds_count") == 1
    assert b"neuronova_ingest_instances_seen_total 1.0" in metrics.response().body


def test_disabled_transcode_only_zeroes_the_preamble() -> None:
    metrics, host = PluginMetrics(), FakeHost()
    data = _mr_bytes(preamble=b"MZ" + b"\x01" * 126)
    config = PluginConfig(transcode=False)
    out = ingest.on_received(data, config=config, metrics=metrics, host=host)
    assert out == b"\0" * 128 + data[128:]
    reason = {"reason": "transcode-disabled"}
    assert _sample(metrics, "neuronova_ingest_instances_kept_total", **reason) == 1
    config = PluginConfig(transcode=False, zero_preamble=False)
    assert ingest.on_received(data, config=config, metrics=metrics, host=host) is None


def test_unexpected_error_keeps_original_and_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(data: bytes, **_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(ingest, "transcode", explode)
    metrics, host = PluginMetrics(), FakeHost()
    out = ingest.on_received(_mr_bytes(), config=PluginConfig(), metrics=metrics, host=host)
    assert out is None
    assert _sample(metrics, "neuronova_ingest_instances_kept_total", reason="error") == 1
    assert any(level == "error" and "boom" in text for level, text in host.logs)
