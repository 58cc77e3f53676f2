"""Door 4: Django admin (/api/admin/) only from the admin networks, only for the admin role,
throttled like the API login, and every admin login and change audited."""

from __future__ import annotations

import re

import pytest
import requests

from tests.support.hardened import Hardened
from tests.support.portal import session_from

ADMIN = "/api/admin/"
LOGIN = "/api/admin/login/"


def _admin_login(
    hardened: Hardened, username: str, password: str, client: requests.Session | None = None
) -> requests.Response:
    session = client or requests.Session()
    form = session.get(f"{hardened.url}{LOGIN}", timeout=60)
    assert form.status_code == 200, form.status_code
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token is not None
    return session.post(
        f"{hardened.url}{LOGIN}?next={ADMIN}",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": token.group(1),
            "next": ADMIN,
        },
        headers={"Referer": f"{hardened.url}{LOGIN}"},
        allow_redirects=False,
        timeout=60,
    )


def test_admin_is_refused_outside_the_admin_networks(hardened: Hardened) -> None:
    outsider = session_from("127.0.0.50")
    for path in (ADMIN, LOGIN, "/api/admin/accounts/user/"):
        answer = outsider.get(
            f"{hardened.url}{path}",
            headers={"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"},
            timeout=60,
        )
        assert answer.status_code == 404, (path, answer.status_code)
        assert "csrfmiddlewaretoken" not in answer.text
    assert any(
        row["action"] == "admin-refused" and row["client_ip"] == "127.0.0.50"
        for row in hardened.audit_rows()
    )


def test_admin_login_is_throttled_and_audited(hardened: Hardened) -> None:
    victim = hardened.create_user("admin", staff=True)
    codes = [_admin_login(hardened, victim, f"guess-{n}").status_code for n in range(9)]
    # Django's form answers 200 (the form again) for a wrong password; the guard then says 429
    assert codes[:5] == [200] * 5, codes
    assert codes[-1] == 429, codes
    rows = [r for r in hardened.audit_rows(username=victim) if r["action"] == "admin-login"]
    assert len(rows) >= 5, rows
    assert all(r["allowed"] == "False" for r in rows)


def test_only_the_admin_role_enters_admin(hardened: Hardened) -> None:
    staff_radiologist = hardened.create_user("radiologist", staff=True)
    client = requests.Session()
    answer = _admin_login(
        hardened, staff_radiologist, hardened.passwords[staff_radiologist], client
    )
    assert answer.status_code == 200, answer.status_code  # the form again, not a redirect
    assert client.get(f"{hardened.url}{ADMIN}", timeout=60, allow_redirects=False).status_code in (
        302,
        403,
    )


def test_admin_changes_are_audited(hardened: Hardened) -> None:
    admin = hardened.create_user("admin", staff=True)
    client = requests.Session()
    answer = _admin_login(hardened, admin, hardened.passwords[admin], client)
    assert answer.status_code == 302, answer.status_code
    add = f"{hardened.url}/api/admin/accounts/patientassignment/add/"
    form = client.get(add, timeout=60)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    user_id = re.search(r'<option value="(\d+)">clinician2</option>', form.text)
    assert token is not None
    assert user_id is not None
    saved = client.post(
        add,
        data={
            "csrfmiddlewaretoken": token.group(1),
            "user": user_id.group(1),
            "patient_id": "NN-ADMIN-AUDIT",
            "_save": "Save",
        },
        headers={"Referer": add},
        allow_redirects=False,
        timeout=60,
    )
    assert saved.status_code == 302, saved.text[:500]
    rows = hardened.audit_rows(username=admin)
    assert any(r["action"] == "admin-login" and r["allowed"] == "True" for r in rows), rows
    assert any(
        r["action"] == "admin-change" and "patientassignment/add" in r["target"] for r in rows
    ), rows


@pytest.mark.django_db
def test_an_unlisted_proxy_never_makes_its_clients_internal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """nginx in another container, not in PORTAL_NGINX_ADDRESSES: Django's peer is the proxy's
    private address. Its clients must not inherit that address's admin (or health) rights."""
    from django.test import Client  # noqa: PLC0415 - after Django is configured
    from health import probes, views  # noqa: PLC0415
    from health.report import ProbeResult  # noqa: PLC0415

    monkeypatch.setattr(probes, "run_all", lambda _probes: {"db": ProbeResult(True, "stub")})
    views.monitor.cache_clear()

    through_unlisted_proxy = Client(REMOTE_ADDR="172.18.0.5", HTTP_X_REAL_IP="203.0.113.9")
    assert through_unlisted_proxy.get(LOGIN).status_code == 404
    health = through_unlisted_proxy.get("/api/health")
    assert "checks" not in health.json()
    direct = Client(REMOTE_ADDR="172.18.0.5")  # an internal host calling Django itself
    assert direct.get(LOGIN).status_code == 200
    assert "checks" in direct.get("/api/health").json()
    views.monitor.cache_clear()
