"""The FHIR client's auth modes, error classes and messages, against httpx's mock transport."""

from __future__ import annotations

import base64
from collections.abc import Callable

import httpx
import pytest
from fhir_sync.client import (
    FhirClient,
    FhirRejectedError,
    FhirTransientError,
    OAuth2ClientCredentials,
    describe_outcome,
    make_auth,
)
from fhir_sync.config import load_config

Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler, **env: str) -> FhirClient:
    config = load_config({"FHIR_BASE_URL": "http://fhir.test/r4", **env})
    http = httpx.Client(
        base_url=config.base_url + "/",
        auth=make_auth(config),
        transport=httpx.MockTransport(handler),
    )
    return FhirClient(config, http=http)


def _bundle(*resources: dict[str, object]) -> httpx.Response:
    entries = [{"resource": r, "search": {"mode": "match"}} for r in resources]
    return httpx.Response(200, json={"resourceType": "Bundle", "entry": entries})


def test_basic_auth_header() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return _bundle()

    client = _client(handler, FHIR_AUTH="basic", FHIR_USERNAME="emr", FHIR_PASSWORD="pw")
    assert client.find("Patient", "s|1") is None
    assert seen == ["Basic " + base64.b64encode(b"emr:pw").decode()]


def test_find_sends_identifier_search_and_refuses_ambiguity() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/r4/Patient"
        assert request.url.params["identifier"] == "urn:x|42"
        return _bundle({"id": "a"}, {"id": "b"})

    with pytest.raises(FhirRejectedError, match="2 Patient resources"):
        _client(handler).find("Patient", "urn:x|42")


def test_create_is_conditional_and_update_puts_by_id() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(201, json={"resourceType": "Patient", "id": "p1"})

    client = _client(handler)
    client.create("Patient", {"resourceType": "Patient"}, identifier="urn:x|42")
    client.update("Patient", "p1", {"resourceType": "Patient"})
    assert requests[0].method == "POST"
    assert requests[0].headers["If-None-Exist"] == "identifier=urn:x|42"
    assert requests[0].headers["Content-Type"] == "application/fhir+json"
    assert requests[1].method == "PUT"
    assert requests[1].url.path == "/r4/Patient/p1"
    assert b'"id":"p1"' in requests[1].content


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, FhirTransientError),
        (503, FhirTransientError),
        (429, FhirTransientError),
        (400, FhirRejectedError),
        (404, FhirRejectedError),
        (422, FhirRejectedError),
    ],
)
def test_status_classes(status: int, error: type[Exception]) -> None:
    client = _client(lambda request: httpx.Response(status, text="nope"))
    with pytest.raises(error):
        client.find("Patient", "s|1")


def test_timeout_is_transient() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(FhirTransientError, match="ReadTimeout"):
        _client(handler).find("Patient", "s|1")


def test_operation_outcome_text_and_location_reach_the_message() -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "invalid",
                "details": {"text": "bad gender"},
                "expression": ["Patient.gender"],
            },
            {"severity": "error", "code": "invalid", "diagnostics": "second problem"},
        ],
    }
    answer = httpx.Response(422, json=outcome)
    assert describe_outcome(answer) == "bad gender (Patient.gender); second problem"
    assert describe_outcome(httpx.Response(400, text="<html>nope</html>")) == "<html>nope</html>"


class _TokenServer:
    def __init__(self) -> None:
        self.issued = 0
        self.valid: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            assert b"grant_type=client_credentials" in request.content
            assert (
                request.headers["Authorization"] == "Basic " + base64.b64encode(b"id:sec").decode()
            )
            self.issued += 1
            token = f"t{self.issued}"
            self.valid = {token}
            return httpx.Response(200, json={"access_token": token, "expires_in": 60})
        if request.headers.get("Authorization", "").removeprefix("Bearer ") in self.valid:
            return _bundle()
        return httpx.Response(401)


def _oauth_client(server: _TokenServer, clock: Callable[[], float]) -> FhirClient:
    auth = OAuth2ClientCredentials(
        token_url="http://auth.test/token", client_id="id", client_secret="sec", clock=clock
    )
    config = load_config({"FHIR_BASE_URL": "http://fhir.test"})
    http = httpx.Client(
        base_url="http://fhir.test/", auth=auth, transport=httpx.MockTransport(server)
    )
    return FhirClient(config, http=http)


@pytest.fixture
def token_transport(monkeypatch: pytest.MonkeyPatch) -> _TokenServer:
    server = _TokenServer()
    transport = httpx.MockTransport(server)

    def post(url: str, **kwargs: object) -> httpx.Response:
        with httpx.Client(transport=transport) as http:
            return http.post(url, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(httpx, "post", post)
    return server


def test_oauth2_token_is_cached_until_it_nearly_expires(token_transport: _TokenServer) -> None:
    now = [1000.0]
    client = _oauth_client(token_transport, lambda: now[0])
    client.find("Patient", "s|1")
    client.find("Patient", "s|1")
    assert token_transport.issued == 1
    now[0] += 45  # 60 s token, renewed 30 s before expiry
    client.find("Patient", "s|1")
    assert token_transport.issued == 2


def test_oauth2_token_revoked_by_server_is_renewed_once(token_transport: _TokenServer) -> None:
    client = _oauth_client(token_transport, lambda: 0.0)
    client.find("Patient", "s|1")
    token_transport.valid = set()  # the server forgot every token
    client.find("Patient", "s|1")
    assert token_transport.issued == 2
