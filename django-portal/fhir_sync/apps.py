"""Wiring: the Django app config of `fhir_sync` (list "fhir_sync" in INSTALLED_APPS)."""

from __future__ import annotations

from django.apps import AppConfig


class FhirSyncConfig(AppConfig):
    name = "fhir_sync"
    label = "fhir_sync"
    verbose_name = "FHIR R4 sync"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Scrape-time metrics from the sync-state table: on the default registry (one process)
        # and, for gunicorn's multiprocess exposition, handed to common.metrics (which imports no
        # app). FHIR follows the clinical record: clinical calls the hook after each committed
        # change (looked up at call time, so the hook stays one replaceable function).
        from clinical import updates  # noqa: PLC0415
        from common.metrics import add_database_collector  # noqa: PLC0415

        from fhir_sync import hooks, metrics  # noqa: PLC0415 - models are importable only once ready
        from fhir_sync.config import get_config  # noqa: PLC0415

        # Read FHIR_* now so a misconfiguration stops the process at start-up, not the first
        # job event hours later.
        get_config()
        metrics.register()
        add_database_collector(metrics.FhirSyncCollector)
        updates.listen(lambda *, study_uid: hooks.on_study_updated(study_uid=study_uid))
