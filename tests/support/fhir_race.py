"""Test helper (wiring, run as a process): two `sync_study` runs of one study, interleaved.

    DATABASE_URL=postgres://… FHIR_BASE_URL=http://…/fhir python -m tests.support.fhir_race

Runs in its own process because the portal's Django settings read DATABASE_URL once, and the
race needs a server database (PostgreSQL, MariaDB) that several connections write at once; the
test process's Django is on SQLite. The database must be migrated. Prints one JSON line.

Order forced, not hoped for: run A reads the study (snapshot 1), then its first FHIR request
waits until run B has read the newer study (snapshot 2, after a new change was requested),
written it and finished. A then goes on with the older snapshot and writes last. Each run is a
thread with its own database connection, calling the real task with the real FHIR client.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any
from unittest.mock import patch

import django

GATE_TIMEOUT_S = 30.0


def main() -> None:
    django.setup()  # DJANGO_SETTINGS_MODULE and DATABASE_URL come from the environment

    from django.db import connection  # noqa: PLC0415 - importable once django.setup() ran
    from django.utils import timezone  # noqa: PLC0415
    from fhir_sync import store, tasks  # noqa: PLC0415
    from fhir_sync.client import FhirClient  # noqa: PLC0415
    from fhir_sync.config import load_config  # noqa: PLC0415
    from fhir_sync.values import StudySnapshot  # noqa: PLC0415
    from neuronova_contracts.signing import KEY_ENV, signed  # noqa: PLC0415
    from neuronova_portal.celery import app  # noqa: PLC0415

    from tests.support.fhir_values import STUDY_UID, reanalysed, snapshot  # noqa: PLC0415

    app.set_current()
    app.conf.task_always_eager = True  # a re-queued sync (if any) runs here, not on a broker
    config = load_config({"FHIR_BASE_URL": os.environ["FHIR_BASE_URL"]})
    older = snapshot()
    newer = reanalysed(older, job_id="job-2", volumes=(1.0, 2.0))
    portal: dict[str, StudySnapshot] = {"current": older}
    a_at_gate = threading.Event()
    b_done = threading.Event()
    a_waited: list[bool] = []

    class GatedClient(FhirClient):
        """Run A's first request waits for run B to finish (bounded: a lock may block B)."""

        def _gate(self) -> None:
            if threading.current_thread().name == "sync-A" and not a_waited:
                a_at_gate.set()
                a_waited.append(b_done.wait(GATE_TIMEOUT_S))

        def find(self, resource_type: str, identifier: str) -> dict[str, Any] | None:
            self._gate()
            return super().find(resource_type, identifier)

        def create(
            self, resource_type: str, body: dict[str, Any], *, identifier: str
        ) -> dict[str, Any]:
            self._gate()
            return super().create(resource_type, body, identifier=identifier)

        def update(
            self, resource_type: str, resource_id: str, body: dict[str, Any]
        ) -> dict[str, Any]:
            self._gate()
            return super().update(resource_type, resource_id, body)

    def load(*, study_uid: str) -> StudySnapshot | None:
        return portal["current"] if study_uid == STUDY_UID else None

    results: dict[str, object] = {}

    def run(name: str) -> None:
        try:
            kwargs = signed(os.environ[KEY_ENV], tasks.SYNC_STUDY, {"study_uid": STUDY_UID})
            results[name] = tasks.sync_study.apply(kwargs=kwargs).get(propagate=False)
        finally:
            connection.close()

    with (
        patch.object(tasks, "get_config", lambda: config),
        patch.object(tasks, "load_snapshot", load),
        patch.object(tasks, "server_for", lambda _config: GatedClient(config)),
    ):
        store.mark_requested(study_uid=STUDY_UID, now=timezone.now())
        a = threading.Thread(target=run, args=("A",), name="sync-A")
        a.start()
        a_at_gate.wait(GATE_TIMEOUT_S)  # A has read snapshot 1 and reached its first request
        # The study changes (a re-analysis, signed) and, as the portal's hook does, a sync is asked.
        portal["current"] = newer
        store.mark_requested(study_uid=STUDY_UID, now=timezone.now())
        b = threading.Thread(target=run, args=("B",), name="sync-B")
        b.start()
        b.join(GATE_TIMEOUT_S * 2)
        b_done.set()
        a.join(GATE_TIMEOUT_S * 2)
        b.join(GATE_TIMEOUT_S * 2)
    state = store.state_of(study_uid=STUDY_UID)
    print(
        json.dumps(
            {
                "results": results,
                "a_waited_for_b": a_waited,
                "alive": [t.name for t in (a, b) if t.is_alive()],
                "status": state.status if state else None,
                "requested_at": str(state.requested_at) if state else None,
            }
        )
    )


if __name__ == "__main__":
    main()
