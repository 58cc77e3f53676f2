"""Wiring: Django app config for accounts."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        # Imported here: models are importable only once apps are ready. `schema` registers the
        # OpenAPI extension; `selectors` gives authz its principals.
        from authz import wiring  # noqa: PLC0415

        from accounts import schema, selectors  # noqa: F401, PLC0415

        wiring.provide_principals(selectors.principal)
