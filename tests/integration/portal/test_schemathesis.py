"""Property-based API test: schemathesis drives every operation of /api/schema/ in-process
(WSGI, test database, fake Orthanc) and no request may produce a 5xx."""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from accounts import services as account_services
from django.core.cache import cache
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from neuronova_portal.wsgi import application
from schemathesis.checks import not_a_server_error

from tests.support.portal import DEV_PASSWORDS
from tests.support.portal_fakes import FakeOrthanc

pytestmark = pytest.mark.django_db

# /api/schema/ needs a login, and no user exists before the test database does: the same
# document is generated in-process (what the view serves), then driven through the WSGI app.
_generator = SchemaGenerator()  # type: ignore[no-untyped-call]
_document = json.loads(
    OpenApiJsonRenderer().render(_generator.get_schema(request=None, public=True))  # type: ignore[no-untyped-call]
)
schema = schemathesis.openapi.from_dict(_document)
schema.app = application


@pytest.fixture
def admin_token(fake_orthanc: FakeOrthanc) -> str:
    cache.clear()
    account_services.seed_dev_users()
    answer = Client().post(
        "/api/auth/token",
        {"username": "admin", "password": DEV_PASSWORDS["admin"]},
        content_type="application/json",
    )
    return str(json.loads(answer.content)["access"])


@schema.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_server_errors(case: schemathesis.Case[Any], admin_token: str) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {admin_token}"}, checks=[not_a_server_error]
    )
