"""Wiring: describe the portal's JWT authentication (header or cookie) to drf-spectacular."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class CookieOrHeaderJWTScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "accounts.authentication.CookieOrHeaderJWTAuthentication"
    name = ["bearerAuth", "cookieAuth"]  # noqa: RUF012 - the base class declares it

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, str]]:  # noqa: ANN401
        return [
            {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            {"type": "apiKey", "in": "cookie", "name": "nn_access"},
        ]
