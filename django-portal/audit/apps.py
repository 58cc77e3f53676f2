"""Wiring: Django app config for audit."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
