"""Wiring: Django app config for pacs."""

from django.apps import AppConfig


class PacsConfig(AppConfig):
    name = "pacs"
