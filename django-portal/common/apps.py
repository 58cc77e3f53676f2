"""Wiring: Django app config for common (no models)."""

from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "common"
