"""FHIR unit tests import fhir_sync modules that need Django's app registry (no database use)."""

from tests.support.portal import configure_django

configure_django()
