"""Wiring: Django app config for health."""

from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "health"
