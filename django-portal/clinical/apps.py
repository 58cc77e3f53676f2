"""Wiring: Django app config for clinical."""

from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "clinical"
