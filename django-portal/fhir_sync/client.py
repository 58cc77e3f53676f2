"""Adapter: the EMR's FHIR R4 server over HTTP (httpx), with none/bearer/basic/OAuth2 auth.

Errors are split the way the sync task must treat them: `FhirTransientError` (5xx, 429,
timeouts, connection failures: retry with back-off) and `FhirRejectedError` (other 4xx: the
server refused this content; retrying cannot help, so the error is recorded and sync gives up).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from typing import Any

import httpx

from fhir_sync.config import FhirConfig

FHIR_JSON = "application/fhir+json"
_TOKEN_MARGIN_S = 30.0  # renew a cached OAuth2 token this long before it expires


class FhirError(Exception):
    """A FHIR interaction failed; `status` is the HTTP status (0 when none came back)."""

    def __init__(self, message: str, *, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class FhirTransientError(FhirError):
    """Worth retrying later: 5xx, 429, timeouts, connection errors."""


class FhirRejectedError(FhirError):
    """The server refused the request (4xx other than 429); the message says why."""


class OAuth2ClientCredentials(httpx.Auth):
    """OAuth2 client-credentials grant with the token cached until shortly before expiry.

    OpenEMR's FHIR API needs this (a registered client, `system/*.write` scopes). A 401 on a
    FHIR request drops the cached token and retries once with a fresh one.
    """

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str = "",
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._scope = scope
        self._timeout_s = timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._token = ""
        self._expires_at = 0.0
        self.tokens_fetched = 0

    def token(self, *, force: bool = False) -> str:
        with self._lock:
            if force or not self._token or self._clock() >= self._expires_at:
                self._fetch()
            return self._token

    def _fetch(self) -> None:
        form = {"grant_type": "client_credentials"}
        if self._scope:
            form["scope"] = self._scope
        try:
            answer = httpx.post(
                self._token_url,
                data=form,
                auth=(self._client_id, self._client_secret),
                timeout=self._timeout_s,
            )
        except httpx.TransportError as exc:
            raise FhirTransientError(f"OAuth2 token endpoint unreachable: {exc}") from exc
        if answer.status_code >= 500:
            raise FhirTransientError(
                f"OAuth2 token endpoint answered {answer.status_code}", status=answer.status_code
            )
        if answer.status_code != 200:
            raise FhirRejectedError(
                f"OAuth2 token request refused ({answer.status_code}): {answer.text[:200]}",
                status=answer.status_code,
            )
        body = answer.json()
        self._token = str(body["access_token"])
        self._expires_at = self._clock() + float(body.get("expires_in", 300)) - _TOKEN_MARGIN_S
        self.tokens_fetched += 1

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self.token(force=True)}"
            yield request


def make_auth(config: FhirConfig) -> httpx.Auth | None:
    if config.auth == "bearer":
        return _Bearer(config.token)
    if config.auth == "basic":
        return httpx.BasicAuth(config.username, config.password)
    if config.auth == "oauth2":
        return OAuth2ClientCredentials(
            token_url=config.token_url,
            client_id=config.client_id,
            client_secret=config.client_secret,
            scope=config.scope,
            timeout_s=config.timeout_s,
        )
    return None


class _Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


def describe_outcome(answer: httpx.Response) -> str:
    """The server's own words: OperationOutcome issue texts, else the start of the body."""
    try:
        body = answer.json()
    except ValueError:
        return answer.text[:300]
    if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
        parts = []
        for issue in body.get("issue", []):
            text = issue.get("details", {}).get("text") or issue.get("diagnostics") or ""
            where = ", ".join(issue.get("expression", []) or issue.get("location", []))
            parts.append(f"{text} ({where})" if where else text)
        return "; ".join(p for p in parts if p) or "OperationOutcome without text"
    return str(body)[:300]


class FhirClient:
    """Search, conditional create and update against one FHIR R4 base URL."""

    def __init__(self, config: FhirConfig, *, http: httpx.Client | None = None) -> None:
        self._http = http or httpx.Client(
            base_url=config.base_url + "/",
            auth=make_auth(config),
            timeout=config.timeout_s,
            headers={"Accept": FHIR_JSON},
        )

    def close(self) -> None:
        self._http.close()

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        try:
            answer = self._http.request(method, url, params=params, json=json, headers=headers)
        except httpx.TransportError as exc:  # includes timeouts
            raise FhirTransientError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
        status = answer.status_code
        if status >= 500 or status == 429:
            raise FhirTransientError(
                f"{method} {url} answered {status}: {describe_outcome(answer)}", status=status
            )
        if status >= 400:
            raise FhirRejectedError(
                f"{method} {url} answered {status}: {describe_outcome(answer)}", status=status
            )
        body: dict[str, Any] = answer.json() if answer.content else {}
        return body

    def find(self, resource_type: str, identifier: str) -> dict[str, Any] | None:
        """The one resource with this `system|value` identifier, or None."""
        bundle = self._send("GET", resource_type, params={"identifier": identifier})
        entries = [
            entry["resource"]
            for entry in bundle.get("entry", [])
            if entry.get("search", {}).get("mode", "match") == "match"
        ]
        if len(entries) > 1:
            raise FhirRejectedError(
                f"{len(entries)} {resource_type} resources carry identifier {identifier}"
            )
        return entries[0] if entries else None

    def create(
        self, resource_type: str, body: dict[str, Any], *, identifier: str
    ) -> dict[str, Any]:
        """Conditional create: the server returns the existing match instead of a duplicate."""
        return self._send(
            "POST",
            resource_type,
            json=body,
            headers={"Content-Type": FHIR_JSON, "If-None-Exist": f"identifier={identifier}"},
        )

    def update(self, resource_type: str, resource_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._send(
            "PUT",
            f"{resource_type}/{resource_id}",
            json={**body, "id": resource_id},
            headers={"Content-Type": FHIR_JSON},
        )
