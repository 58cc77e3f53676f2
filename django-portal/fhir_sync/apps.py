"""Wiring: the Django app config of `fhir_sync` (list "fhir_sync" in INSTALLED_APPS)."""

from __future__ import annotations

from django.apps import AppConfig


class FhirSyncConfig(AppConfig):
    name = "fhir_sync"
    label = "fhir_sync"
    verbose_name = "FHIR R4 sync"
    default_auto_field = "django.db.models.BigAutoField"
