"""Wiring: the received-instance step — decide, re-encode, verify, count, log; never raise.

``neuronova_plugin.plugin`` calls :func:`on_received` from Orthanc's received-instance callback
and stores the returned bytes (MODIFY) or, for ``None``, the bytes exactly as received
(KEEP_AS_IS).
"""

from __future__ import annotations

import time
import traceback

from neuronova_plugin.config import PluginConfig
from neuronova_plugin.host import PluginHost
from neuronova_plugin.metrics import PluginMetrics
from neuronova_plugin.transcode import TranscodeResult, transcode, zero_preamble


def _transcode(data: bytes, config: PluginConfig, host: PluginHost) -> TranscodeResult:
    if not config.transcode:
        return TranscodeResult(None, "transcode-disabled")
    try:
        return transcode(data, verify=config.verify_transcode, colour=config.transcode_colour)
    except Exception:  # noqa: BLE001 - any surprise keeps the original bytes
        host.log_error(f"re-encoding failed, instance kept as received:\n{traceback.format_exc()}")
        return TranscodeResult(None, "error")


def on_received(
    data: bytes, *, config: PluginConfig, metrics: PluginMetrics, host: PluginHost
) -> bytes | None:
    """New bytes for Orthanc to store, or None to store ``data`` unchanged."""
    started = time.perf_counter()
    metrics.seen.inc()
    metrics.bytes_in.inc(len(data))
    result = _transcode(data, config, host)
    out = result.data
    if out is None:
        metrics.kept.labels(reason=result.reason.split(":")[0]).inc()
        if result.reason == "verify-mismatch":
            host.log_warning("HTJ2K verification failed: instance kept as received")
        if config.zero_preamble:
            out = zero_preamble(data)
    else:
        metrics.transcoded.labels(transfer_syntax=result.transfer_syntax).inc()
        metrics.encode_seconds.observe(time.perf_counter() - started)
    metrics.bytes_out.inc(len(out if out is not None else data))
    return out
