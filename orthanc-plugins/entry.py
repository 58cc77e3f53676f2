"""Wiring: the Orthanc Python plugin entry script, the only module that imports ``orthanc``.

Orthanc 1.13 runs this file with the Python 3.14 that Debian sid's orthanc-python embeds, inside
the Orthanc root (scripts/orthanc-root.sh). Its packages are the root's venv, put on ``sys.path``
here together with this folder, so nothing needs PYTHONPATH.

Each feature has one ``register_*`` step; every callback catches everything, logs it and answers
in a way that never loses an instance (a failed re-encode keeps the original bytes).
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
# The root's venv (also the production image's path), before Debian's dist-packages.
_VENV = f"/opt/neuronova/venv/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages"
if Path(_VENV).is_dir() and _VENV not in sys.path:
    sys.path.insert(1, _VENV)

import orthanc  # type: ignore[import-not-found]  # noqa: E402
from neuronova_plugin import __version__  # noqa: E402
from neuronova_plugin.config import PluginConfig, plugin_config  # noqa: E402
from neuronova_plugin.dicom_refusals import (  # noqa: E402
    LogFollower,
    RefusedAssociations,
    log_file_readable,
)
from neuronova_plugin.host import HostError, Request, Response  # noqa: E402
from neuronova_plugin.ingest import on_received  # noqa: E402
from neuronova_plugin.metrics import PluginMetrics  # noqa: E402

ORTHANC_CONFIG: dict[str, Any] = json.loads(orthanc.GetConfiguration())
CONFIG: PluginConfig = plugin_config(ORTHANC_CONFIG)
METRICS = PluginMetrics()


class OrthancHost:
    """Adapter: the PluginHost Protocol on top of the ``orthanc`` module."""

    def rest_get(self, uri: str) -> bytes:
        try:
            return bytes(orthanc.RestApiGet(uri))
        except orthanc.OrthancException as exc:
            raise HostError(f"GET {uri}: {exc}") from exc

    def log_info(self, message: str) -> None:
        orthanc.LogInfo(f"NeuroNova: {message}")

    def log_warning(self, message: str) -> None:
        orthanc.LogWarning(f"NeuroNova: {message}")

    def log_error(self, message: str) -> None:
        orthanc.LogError(f"NeuroNova: {message}")


HOST = OrthancHost()
Handler = Callable[[Request], Response]
# Feature registration steps, run in order by main(); a feature block appends its own step.
STEPS: list[Callable[[], None]] = []


class RestOutput(Protocol):
    """The part of Orthanc's RestOutput object the routes use."""

    def AnswerBuffer(self, body: bytes, mime: str) -> None: ...  # noqa: N802

    def SendHttpStatus(self, status: int, body: bytes) -> None: ...  # noqa: N802

    def SendMethodNotAllowed(self, allowed: str) -> None: ...  # noqa: N802


def _answer(output: RestOutput, response: Response) -> None:
    if response.status == 200:
        output.AnswerBuffer(response.body, response.mime)
    else:
        output.SendHttpStatus(response.status, response.body)


def _rest_route(
    handler: Handler, methods: tuple[str, ...] = ("GET",), *, name: str = "route"
) -> Callable[..., None]:
    """Adapt a pure handler to Orthanc's REST callback; an exception becomes a logged 500."""

    def callback(output: RestOutput, uri: str, **request: Any) -> None:  # noqa: ANN401
        method = str(request.get("method", "GET"))
        if method not in methods:
            output.SendMethodNotAllowed(",".join(methods))
            return
        try:
            response = handler(
                Request(
                    method=method,
                    groups=tuple(request.get("groups") or ()),
                    query=dict(request.get("get") or {}),
                    headers={k.lower(): v for k, v in (request.get("headers") or {}).items()},
                    body=bytes(request.get("body") or b""),
                )
            )
        except Exception:  # noqa: BLE001 - never raise into Orthanc
            HOST.log_error(f"route {uri} failed:\n{traceback.format_exc()}")
            METRICS.route_errors.labels(route=name).inc()
            response = Response.error(500, "NeuroNova plugin error (see Orthanc log)")
        _answer(output, response)

    return callback


# --- metrics -------------------------------------------------------------------------------------
def register_metrics() -> None:
    if CONFIG.orthanc_log_file:
        if not log_file_readable(CONFIG.orthanc_log_file):
            HOST.log_warning(f"cannot read {CONFIG.orthanc_log_file}: refusals go uncounted")
        follower = LogFollower(Path(CONFIG.orthanc_log_file))
        METRICS.registry.register(RefusedAssociations(follower))
    orthanc.RegisterRestCallback(
        "/neuronova/metrics", _rest_route(lambda _request: METRICS.response(), name="metrics")
    )


STEPS.append(register_metrics)


# --- ingest: HTJ2K lossless re-encoding (issue 3) ----------------------------------------------
def _received_instance(received: bytes, origin: object) -> tuple[Any, bytes | None]:
    try:
        out = on_received(bytes(received), config=CONFIG, metrics=METRICS, host=HOST)
    except Exception:  # noqa: BLE001 - on_received never raises; this is the last guard
        HOST.log_error(f"ingest callback failed:\n{traceback.format_exc()}")
        out = None
    if out is None:
        return orthanc.ReceivedInstanceAction.KEEP_AS_IS, None
    return orthanc.ReceivedInstanceAction.MODIFY, out


def register_ingest() -> None:
    orthanc.RegisterReceivedInstanceCallback(_received_instance)


STEPS.append(register_ingest)


# --- AI pipeline (issue 4) -----------------------------------------------------------------------
# The change log is the source of truth (a durable cursor in NeuroNova.VarDirectory); the on-change
# callback only starts/stops the background loop and wakes it early on StableStudy.
from neuronova_plugin.ai.config import ai_config  # noqa: E402
from neuronova_plugin.ai.publisher import CeleryPublisher  # noqa: E402
from neuronova_plugin.ai.service import AiService, build  # noqa: E402


class AiOrthancHost(OrthancHost):
    """Adapter: the AiHost Protocol (GET plus POST and DELETE) on the ``orthanc`` module.

    ``rest_post("/instances")`` stores the SEG in-process. That needs orthanc.json's
    ``Python.AllowThreads``: with the GIL held during SDK calls, the store waits for the plugin
    engine's mutex while a concurrent C-STORE holds that mutex and waits for the GIL in our
    received-instance callback (tests/integration/ai/test_store_under_ingest.py).
    """

    def rest_post(self, uri: str, body: bytes) -> bytes:
        try:
            return bytes(orthanc.RestApiPost(uri, body))
        except orthanc.OrthancException as exc:
            raise HostError(f"POST {uri}: {exc}") from exc

    def rest_delete(self, uri: str) -> None:
        try:
            orthanc.RestApiDelete(uri)
        except orthanc.OrthancException as exc:
            raise HostError(f"DELETE {uri}: {exc}") from exc


AI: AiService | None = None


def _ai_on_change(change_type: object, _level: object, _resource: str) -> None:
    try:
        if AI is None:
            return
        if change_type == orthanc.ChangeType.ORTHANC_STARTED:
            AI.start()
        elif change_type == orthanc.ChangeType.ORTHANC_STOPPED:
            AI.stop()
        elif change_type == orthanc.ChangeType.STABLE_STUDY:
            AI.wake()
    except Exception:  # noqa: BLE001 - never raise into Orthanc
        HOST.log_error(f"AI on-change callback failed:\n{traceback.format_exc()}")


def register_ai() -> None:
    global AI  # noqa: PLW0603 - the one service of this process
    config = ai_config(ORTHANC_CONFIG)
    if not config.enabled:
        return
    try:
        AI = build(config, AiOrthancHost(), lambda url: CeleryPublisher(url).publish)
    except Exception:  # noqa: BLE001 - a broken model folder must not stop Orthanc
        HOST.log_error(f"AI pipeline disabled:\n{traceback.format_exc()}")
        return
    orthanc.RegisterRestCallback("/neuronova/seg", _rest_route(AI.seg_route, ("POST",)))
    orthanc.RegisterRestCallback(
        "/neuronova/studies/(.*)/reanalyze", _rest_route(AI.reanalyze_route, ("POST",))
    )
    orthanc.RegisterRestCallback("/neuronova/ai/status", _rest_route(AI.status_route))
    orthanc.RegisterOnChangeCallback(_ai_on_change)


STEPS.append(register_ai)
# --- end AI pipeline (issue 4) -------------------------------------------------------------------


def main() -> None:
    if not CONFIG.enabled:
        HOST.log_warning("plugin disabled by NeuroNova.Enabled=false")
        return
    for step in STEPS:
        step()
    HOST.log_warning(f"plugin {__version__} ready ({CONFIG})")


main()
