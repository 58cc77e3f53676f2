"""Wiring: Django app config for authz (no models)."""

from django.apps import AppConfig


class AuthzConfig(AppConfig):
    name = "authz"
