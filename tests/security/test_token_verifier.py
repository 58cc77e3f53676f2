"""One access-token verifier: the API (DRF) and the image gateway refuse exactly the same tokens,
for every way a token can be ended."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from tests.support.hardened import Hardened, mr_file


def _logout(hardened: Hardened, user: str, pair: dict[str, str]) -> None:
    answer = requests.post(
        f"{hardened.url}/api/auth/logout",
        json={"refresh": pair["refresh"]},
        headers={"Authorization": f"Bearer {pair['access']}"},
        timeout=60,
    )
    assert answer.status_code == 204, answer.text


def _change_password(hardened: Hardened, user: str, _pair: dict[str, str]) -> None:
    hardened.shell(
        "from accounts.models import User\n"
        f"u = User.objects.get(username={user!r})\n"
        "u.set_password('changed-after-a-leak-123')\n"
        "u.save()\n"
    )


def _deactivate(hardened: Hardened, user: str, _pair: dict[str, str]) -> None:
    hardened.shell(
        f"from accounts.models import User\nUser.objects.filter(username={user!r})"
        ".update(is_active=False)\n"
    )


def _delete(hardened: Hardened, user: str, _pair: dict[str, str]) -> None:
    hardened.shell(
        f"from accounts.models import User\nUser.objects.filter(username={user!r}).delete()\n"
    )


ENDINGS: dict[str, Callable[[Hardened, str, dict[str, str]], None]] = {
    "logout": _logout,
    "password-change": _change_password,
    "deactivated": _deactivate,
    "deleted": _delete,
}


@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_api_and_image_gateway_refuse_the_same_ended_tokens(
    hardened: Hardened, ending: str
) -> None:
    user = hardened.create_user("radiologist")
    study, data = mr_file()
    assert hardened.upload([("v.dcm", data)], username=user).status_code == 200
    pair = hardened.tokens(user)
    auth = {"Authorization": f"Bearer {pair['access']}"}
    api = f"{hardened.url}/api/auth/me"
    image = f"{hardened.url}/api/pacs/dicom-web/studies/{study}/metadata"
    assert requests.get(api, headers=auth, timeout=60).status_code == 200
    assert requests.get(image, headers=auth, timeout=60).status_code == 200
    ENDINGS[ending](hardened, user, pair)
    codes = {
        "api": requests.get(api, headers=auth, timeout=60).status_code,
        "image": requests.get(image, headers=auth, timeout=60).status_code,
    }
    assert codes == {"api": 401, "image": 401}, (ending, codes)


@pytest.mark.django_db
def test_drf_and_the_gateway_call_one_verifier(
    fake_orthanc: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from accounts import services as account_services  # noqa: PLC0415
    from accounts import verifier  # noqa: PLC0415
    from django.test import Client  # noqa: PLC0415

    from tests.support.portal_fakes import bearer  # noqa: PLC0415

    account_services.seed_dev_users()
    headers = bearer(Client(), "radiologist")
    seen: list[str] = []
    real = verifier.verify_access

    def counting(token: str) -> verifier.VerifiedAccess:
        seen.append(token)
        return real(token)

    monkeypatch.setattr(verifier, "verify_access", counting)
    Client().get("/api/auth/me", **headers)  # type: ignore[arg-type]
    Client().get("/api/pacs/dicom-web/studies", **headers)  # type: ignore[arg-type]
    assert len(seen) == 2
