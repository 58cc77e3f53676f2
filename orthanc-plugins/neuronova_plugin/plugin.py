"""Wiring: every feature's callbacks, registered on the ``orthanc`` module entry.py passes in.

Each feature has one ``_register_*`` step; every callback catches everything, logs it and answers
in a way that never loses an instance (a failed re-encode keeps the original bytes).
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuronova_plugin import __version__
from neuronova_plugin.ai.publisher import CeleryPublisher, PublishFn
from neuronova_plugin.ai.service import AiService, build
from neuronova_plugin.config import AiConfig, PluginConfig, plugin_config
from neuronova_plugin.dicom_refusals import LogFollower, RefusedAssociations, log_file_readable
from neuronova_plugin.ingest import load_codecs, on_received
from neuronova_plugin.metrics import PluginMetrics
from neuronova_plugin.process_end import ProcessEnd
from neuronova_plugin.sdk import Handler, OrthancHost, OrthancModule, rest_callback

PublisherFactory = Callable[[AiConfig], PublishFn]


def celery_publisher(config: AiConfig) -> PublishFn:
    return CeleryPublisher(config.redis_url, config.task_key).publish


@dataclass
class Plugin:
    """What one Orthanc process runs: kept by entry.py for the life of the process."""

    sdk: OrthancModule
    config: PluginConfig
    host: OrthancHost
    metrics: PluginMetrics
    ai: AiService | None = None
    # Every REST callback handed to Orthanc, held for the life of the process. orthanc-python 7.1
    # drops its own reference to a REST callback at shutdown without holding the GIL
    # (RestCallbacks.cpp, ~RestCallback's Py_XDECREF): if that reference were the last one, the
    # closure would be freed there and Orthanc would die of SIGSEGV on every stop (exit 139, seen
    # natively and in compose). Ours keeps the count above zero, so that decref frees nothing.
    rest_callbacks: list[Callable[..., None]] = field(default_factory=list)
    # Set with the on-change callback: ends the process once Orthanc has stopped (process_end.py;
    # entry.py registers it with atexit, so that only a real Orthanc process is ever ended).
    process_end: ProcessEnd | None = None

    def route(self, uri: str, handler: Handler, methods: tuple[str, ...], name: str) -> None:
        def on_error() -> None:
            self.metrics.route_errors.labels(route=name).inc()

        callback = rest_callback(handler, self.host, on_error, methods)
        self.rest_callbacks.append(callback)
        self.sdk.RegisterRestCallback(uri, callback)


def _register_metrics(plugin: Plugin) -> None:
    followers = []
    for log_file in (plugin.config.orthanc_log_file, plugin.config.dicom_entry_log_file):
        if log_file:
            if not log_file_readable(log_file):
                plugin.host.log_warning(f"cannot read {log_file}: refusals go uncounted")
            followers.append(LogFollower(Path(log_file)))
    if followers:
        plugin.metrics.registry.register(RefusedAssociations(*followers))
    plugin.route(
        "/neuronova/metrics", lambda _request: plugin.metrics.response(), ("GET",), "metrics"
    )


def _register_ingest(plugin: Plugin) -> None:
    """HTJ2K lossless re-encoding of every received instance that qualifies."""
    action = plugin.sdk.ReceivedInstanceAction
    for name in load_codecs() if plugin.config.transcode else ():
        plugin.host.log_warning(f"codec {name} unavailable: instances that need it are kept")

    def received(data: bytes, _origin: object) -> tuple[Any, bytes | None]:
        try:
            out = on_received(
                bytes(data), config=plugin.config, metrics=plugin.metrics, host=plugin.host
            )
        except Exception:  # noqa: BLE001 - on_received never raises; this is the last guard
            plugin.host.log_error(f"ingest callback failed:\n{traceback.format_exc()}")
            out = None
        if out is None:
            return action.KEEP_AS_IS, None
        return action.MODIFY, out

    plugin.sdk.RegisterReceivedInstanceCallback(received)


def _register_ai(plugin: Plugin, publisher_factory: PublisherFactory) -> None:
    """The change log is the source of truth (a durable cursor in NeuroNova.VarDirectory); the
    on-change callback only starts/stops the background loop and wakes it early on StableStudy."""
    if not plugin.config.ai.enabled:
        return
    try:
        ai = build(plugin.config.ai, plugin.host, publisher_factory)
    except Exception:  # noqa: BLE001 - a broken model folder must not stop Orthanc
        plugin.host.log_error(f"AI pipeline disabled:\n{traceback.format_exc()}")
        return
    plugin.ai = ai
    change = plugin.sdk.ChangeType
    # An on-change callback makes orthanc-python 7.1 crash in its own finalization when Orthanc
    # signals a change after ORTHANC_STOPPED (process_end.py): entry.py hands this to atexit.
    ending = ProcessEnd(plugin.host)
    plugin.process_end = ending

    def on_change(change_type: object, _level: object, _resource: str) -> None:
        try:
            if change_type == change.ORTHANC_STARTED:
                ai.start()
            elif change_type == change.ORTHANC_STOPPED:
                ending.on_orthanc_stopped()
                ai.stop()
            elif change_type == change.STABLE_STUDY:
                ai.wake()
        except Exception:  # noqa: BLE001 - never raise into Orthanc
            plugin.host.log_error(f"AI on-change callback failed:\n{traceback.format_exc()}")

    plugin.route("/neuronova/seg", ai.seg_route, ("POST",), "route")
    plugin.route("/neuronova/studies/(.*)/reanalyze", ai.reanalyze_route, ("POST",), "route")
    plugin.route("/neuronova/ai/status", ai.status_route, ("GET",), "route")
    plugin.sdk.RegisterOnChangeCallback(on_change)


def register(sdk: OrthancModule, publisher_factory: PublisherFactory = celery_publisher) -> Plugin:
    """Read the configuration once and register every enabled feature on ``sdk``."""
    host = OrthancHost(sdk)
    config = plugin_config(json.loads(sdk.GetConfiguration()))
    plugin = Plugin(sdk=sdk, config=config, host=host, metrics=PluginMetrics())
    if not config.enabled:
        host.log_warning("plugin disabled by NeuroNova.Enabled=false")
        return plugin
    _register_metrics(plugin)
    _register_ingest(plugin)
    _register_ai(plugin, publisher_factory)
    host.log_warning(f"plugin {__version__} ready ({config})")
    return plugin
