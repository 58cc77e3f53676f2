"""Wiring: Django app config for clinical."""

from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "clinical"

    def ready(self) -> None:
        # Models are importable only once apps are ready.
        from authz import wiring  # noqa: PLC0415

        from clinical import metrics, selectors  # noqa: PLC0415

        wiring.provide_studies(selectors.study_ref)
        metrics.register()
