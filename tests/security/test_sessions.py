"""Door 10: a refresh chain ends at the session's absolute lifetime however often it rotates; a
password change ends every token issued before it; re-analysis is for radiologists and admins and
rate-limited per study."""

from __future__ import annotations

import time

import jwt
import pytest
import requests

from tests.support.hardened import Hardened, detail, mr_file

SESSION_S = 0.003 * 3600  # JWT_SESSION_HOURS of the hardened chain


def _refresh(hardened: Hardened, refresh: str) -> requests.Response:
    return requests.post(f"{hardened.url}/api/auth/refresh", json={"refresh": refresh}, timeout=60)


def test_rotating_refresh_tokens_cannot_outlive_the_session(hardened: Hardened) -> None:
    pair = hardened.tokens("radiologist")
    started = time.monotonic()
    rotations = 0
    while time.monotonic() - started < SESSION_S + 2:
        answer = _refresh(hardened, pair["refresh"])
        if answer.status_code != 200:
            refused_at = time.time()
            break
        pair = answer.json()
        rotations += 1
        time.sleep(1)
    else:
        pytest.fail(f"the chain still rotates {SESSION_S + 2:.0f} s after login")
    assert answer.status_code == 401, detail(answer)
    assert rotations >= 2  # it did rotate while the session lasted
    # and it ended at the session's end, not before: the login time every rotation carried on
    auth_time = jwt.decode(pair["refresh"], options={"verify_signature": False})["auth_time"]
    assert refused_at >= auth_time + int(SESSION_S)


def _frame_path(hardened: Hardened, study: str, token: str) -> str:
    series = requests.get(
        f"{hardened.url}/api/pacs/dicom-web/studies/{study}/series",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    ).json()
    series_uid = series[0]["0020000E"]["Value"][0]
    instances = requests.get(
        f"{hardened.url}/api/pacs/dicom-web/studies/{study}/series/{series_uid}/instances",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    ).json()
    sop_uid = instances[0]["00080018"]["Value"][0]
    return f"/api/pacs/dicom-web/studies/{study}/series/{series_uid}/instances/{sop_uid}/frames/1"


def test_a_password_change_ends_every_earlier_token(hardened: Hardened) -> None:
    user = hardened.create_user("radiologist")
    study, data = mr_file()
    assert hardened.upload([("s.dcm", data)], username=user).status_code == 200
    pair = hardened.tokens(user)
    auth = {"Authorization": f"Bearer {pair['access']}"}
    frame = _frame_path(hardened, study, pair["access"])
    assert requests.get(f"{hardened.url}/api/auth/me", headers=auth, timeout=60).status_code == 200
    assert requests.get(f"{hardened.url}{frame}", headers=auth, timeout=60).status_code == 200
    hardened.shell(
        "from accounts.models import User\n"
        f"u = User.objects.get(username={user!r})\n"
        "u.set_password('a-new-password-after-a-leak')\n"
        "u.save()\n"
    )
    assert requests.get(f"{hardened.url}/api/auth/me", headers=auth, timeout=60).status_code == 401
    assert requests.get(f"{hardened.url}{frame}", headers=auth, timeout=60).status_code == 401
    assert _refresh(hardened, pair["refresh"]).status_code == 401
    hardened.passwords[user] = "a-new-password-after-a-leak"
    assert hardened.login(user).status_code == 200


def test_reanalysis_is_role_checked_and_rate_limited_per_study(hardened: Hardened) -> None:
    study, data = mr_file()
    assert hardened.upload([("r.dcm", data)], username="clinician").status_code == 200
    other, other_data = mr_file()
    assert hardened.upload([("o.dcm", other_data)], username="radiologist").status_code == 200

    headers = {name: hardened.bearer(name) for name in ("clinician", "radiologist", "admin")}

    def reanalyze(study_uid: str, username: str) -> int:
        return requests.post(
            f"{hardened.url}/api/studies/{study_uid}/reanalyze",
            headers=headers[username],
            timeout=60,
        ).status_code

    # the clinician may see the study (assigned patient) but not order a re-analysis
    assert reanalyze(study, "clinician") == 403
    # PORTAL_REANALYZE_RATE is 2/hour per study, whoever asks
    assert [reanalyze(study, "radiologist"), reanalyze(study, "admin")] == [202, 202]
    assert reanalyze(study, "radiologist") == 429
    assert reanalyze(other, "radiologist") == 202
