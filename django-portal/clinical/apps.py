"""Wiring: Django app config for clinical."""

from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "clinical"

    def ready(self) -> None:
        # Imported here: models are importable only once apps are ready. authz gets the owner of
        # each StudyInstanceUID; common.metrics exports the conflict gauge (one process and
        # gunicorn's).
        from authz import wiring  # noqa: PLC0415
        from common.metrics import add_database_collector  # noqa: PLC0415

        from clinical import metrics, selectors  # noqa: PLC0415

        wiring.provide_studies(selectors.study_ref)
        metrics.register()
        add_database_collector(metrics.StudyConflictCollector)
