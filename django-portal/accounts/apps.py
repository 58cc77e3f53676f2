"""Wiring: Django app config for accounts."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from accounts import schema  # noqa: F401, PLC0415 - registers the OpenAPI extension
