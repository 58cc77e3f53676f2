"""Wiring: the received-instance step — decide, re-encode, verify, count, log; never raise.

``neuronova_plugin.plugin`` calls :func:`on_received` from Orthanc's received-instance callback
and stores the returned bytes (MODIFY) or, for ``None``, the bytes exactly as received
(KEEP_AS_IS).
"""

from __future__ import annotations

import importlib
import time
import traceback

import numpy as np

from neuronova_plugin.config import PluginConfig
from neuronova_plugin.host import PluginHost
from neuronova_plugin.metrics import PluginMetrics
from neuronova_plugin.readback import frames_equal
from neuronova_plugin.transcode import TranscodeResult, encode_frame, transcode, zero_preamble

# Extension modules the received-instance step loads on first use: the HTJ2K codec (imagecodecs
# loads ``_htj2k`` lazily) and pydicom's decoders of compressed originals with their backends.
DECODER_MODULES = (
    "pydicom.pixels.decoders.pylibjpeg",
    "pydicom.pixels.decoders.pillow",
    "pydicom.pixels.decoders.rle",
    "openjpeg",
    "libjpeg",
    "PIL.Image",
)


def load_codecs() -> list[str]:
    """Load every codec the received-instance step uses, in the calling thread; the modules
    that could not be loaded (each such codec then fails per instance, which keeps it as is).

    Call it while the plugin is being registered (Orthanc's thread running entry.py). Loaded
    for the first time inside the received-instance callback, which runs in one of Orthanc's
    own threads, imagecodecs' HTJ2K extension left the interpreter in a state its final
    garbage collection crashed on (SIGSEGV at every stop of an Orthanc on PostgreSQL that had
    re-encoded one instance; docs/plugin.md, "Stopping it").
    """
    missing = []
    for name in DECODER_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - an optional backend; ingest copes without it
            missing.append(name)
    try:
        # Through ingest's own encode and read-back check, so the very calls it makes are loaded.
        tile = np.arange(64, dtype=np.uint16).reshape(1, 8, 8)
        codestream, _ = encode_frame(tile[0])
        if not frames_equal([codestream], tile):
            missing.append("imagecodecs.htj2k")
    except Exception:  # noqa: BLE001 - the codec is missing or broken: ingest keeps originals
        missing.append("imagecodecs.htj2k")
    return missing


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
