"""Pure: the AI feature assembled from its adapters, plus the background loop that drives it.

One thread: take or keep the lead (one replica of a cluster at a time, ``database.py``); as the
leader, read the change log to its end, sweep pending studies, drain the outbox to Redis; then
sleep ``poll_seconds`` (or until woken). Nothing here raises out of the loop.
"""

from __future__ import annotations

import json
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from neuronova_contracts import registry
from neuronova_contracts.manifest import Manifest

from neuronova_plugin.ai.changes import ChangeTracker, poll_changes, sweep_pending
from neuronova_plugin.ai.publisher import PublishFn, drain
from neuronova_plugin.ai.routes import reanalyze, store_seg
from neuronova_plugin.ai.store import JobStore
from neuronova_plugin.config import AiConfig
from neuronova_plugin.host import PluginHost, Request, Response

# A study is swept only after Orthanc's StableAge plus this margin without news.
SWEEP_MARGIN_S = 5.0


@dataclass
class AiService:
    config: AiConfig
    host: PluginHost
    store: JobStore
    model: Manifest
    publish: PublishFn
    _wake: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _last_error: str = ""
    _tracker: ChangeTracker | None = None

    def _lead(self) -> bool:
        was = self._tracker is not None
        leading = self.store.lead()
        if leading and not was:
            self._tracker = ChangeTracker()
            self.host.log_warning("AI: this replica now leads the AI jobs")
        elif was and not leading:
            self._tracker = None
            self.host.log_warning("AI: this replica no longer leads the AI jobs")
        return leading

    def tick(self) -> None:
        """One pass; each distinct error is logged once (Redis down for hours is one line)."""
        error = ""
        try:
            if self._lead():
                stable_age = self.config.stable_age_s
                poll_changes(
                    self.host,
                    self.store,
                    self.model,
                    tracker=self._tracker,
                    stable_age_s=stable_age,
                )
                quiet_s = stable_age + SWEEP_MARGIN_S
                sweep_pending(self.host, self.store, self.model, quiet_s, stable_age_s=stable_age)
                _, error = drain(self.store, self.publish)
        except Exception:  # noqa: BLE001 - the loop must survive anything
            error = traceback.format_exc()
        if error and error != self._last_error:
            self.host.log_warning(f"AI: jobs kept for later: {error}")
        elif not error and self._last_error:
            self.host.log_warning("AI: publishing again")
        self._last_error = error

    def _run(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._wake.wait(self.config.poll_seconds)
            self._wake.clear()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="neuronova-ai", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        self.store.close()

    # Routes -----------------------------------------------------------------------------
    def seg_route(self, request: Request) -> Response:
        return store_seg(self.host, request)

    def reanalyze_route(self, request: Request) -> Response:
        response = reanalyze(self.host, self.store, self.model, request)
        self.wake()
        return response

    def status_route(self, _request: Request) -> Response:
        body = {"model": self.model.model_id, "version": self.model.version, **self.store.counts()}
        body["cursor"] = self.store.cursor()
        body["leader"] = self.store.leading
        body["last_error"] = self._last_error.strip().splitlines()[-1] if self._last_error else ""
        return Response(200, json.dumps(body).encode(), "application/json")


def build(
    config: AiConfig, host: PluginHost, publisher_factory: Callable[[AiConfig], PublishFn]
) -> AiService:
    if config.models_directory is None:
        raise ValueError("NeuroNova.ModelsDirectory names no models folder")
    model = registry.load(config.models_directory, config.model_id)
    return AiService(
        config=config,
        host=host,
        store=JobStore.postgres(config.postgres) if config.postgres else JobStore(config.database),
        model=model,
        publish=publisher_factory(config),
    )
