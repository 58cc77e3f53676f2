"""Door 2: no secret published in the repository opens anything, and var/ keeps its own private.

The native stack's nginx and DICOM ports listen on every interface, so it must never run on a
value anyone can read in this repository (or its history): the first `make up` draws random
secrets into var/secrets.env, and everything under var/ that holds patient data, secrets or keys
is closed to other local users. Tests read the generated secrets as the stack does.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
import requests

from stack import secrets_file
from tests.support.stack import ROOT, RunningStack, stack_environment

# Every fixed secret this repository has shipped: the stack's and the portal's dev defaults, and
# the .env.example placeholders. An attacker reads them on GitHub.
PUBLISHED = {
    "ORTHANC_PASSWORD": ("orthanc", "change-me-orthanc"),
    "DJANGO_SECRET_KEY": (
        "dev-only-django-secret-do-not-use-in-production",
        "dev-only-django-secret-key-not-for-production-use-0000",
        "change-me-django",
    ),
    "JWT_SIGNING_KEY": (
        "dev-only-jwt-signing-key-do-not-use-in-production",
        "dev-only-jwt-signing-key-not-for-production-use-00000",
        "change-me-jwt",
    ),
}
# Public by design: the web roots nginx serves (symlinks into the repository) and Django admin's
# collected static files.
PUBLIC = ("nginx/www", "portal/static")


def test_published_orthanc_passwords_open_nothing(stack: RunningStack) -> None:
    for password in PUBLISHED["ORTHANC_PASSWORD"]:
        answer = requests.get(f"{stack.orthanc_url}/system", auth=("orthanc", password), timeout=10)
        assert answer.status_code == 401, password
    assert requests.get(f"{stack.orthanc_url}/system", auth=stack.orthanc_auth, timeout=10).ok


def test_tokens_signed_with_published_keys_are_refused(stack: RunningStack) -> None:
    real = stack.token("admin")
    me = requests.get(
        f"{stack.url}/api/auth/me", headers={"Authorization": f"Bearer {real}"}, timeout=10
    )
    assert me.status_code == 200, me.text
    claims = jwt.decode(real, options={"verify_signature": False})
    now = int(time.time())
    for key in PUBLISHED["JWT_SIGNING_KEY"]:
        forged = jwt.encode({**claims, "iat": now, "exp": now + 300}, key, algorithm="HS256")
        answer = requests.get(
            f"{stack.url}/api/auth/me", headers={"Authorization": f"Bearer {forged}"}, timeout=10
        )
        assert answer.status_code == 401, key


def test_secrets_are_generated_random_and_private(stack: RunningStack, tmp_path: Path) -> None:
    var = stack.config.var_dir
    secrets_path = var / "secrets.env"
    assert stat.S_IMODE(secrets_path.stat().st_mode) == 0o600
    generated = secrets_file.read(var)
    assert set(generated) == set(secrets_file.NAMES)
    elsewhere = secrets_file.ensure(tmp_path / "another-var")
    for name, value in generated.items():
        assert len(value) >= 32, name
        assert value not in PUBLISHED.get(name, ()), name
        assert elsewhere[name] != value, f"{name} is not drawn per installation"
    assert stack.config.orthanc_password == generated["ORTHANC_PASSWORD"]


def test_nothing_under_var_is_open_to_other_users(stack: RunningStack) -> None:
    var = stack.config.var_dir
    mode = stat.S_IMODE(var.stat().st_mode)
    assert mode & 0o007 == 0, f"{var} is {mode:o}: other users may enter it"
    assert mode & 0o060 == 0, f"{var} is {mode:o}: its group may list or write it"
    open_to_others = []
    for folder, dirs, files in os.walk(var):
        here = Path(folder)
        if any(here.relative_to(var).as_posix().startswith(public) for public in PUBLIC):
            dirs.clear()
            continue
        for entry in [here / name for name in dirs + files]:
            if entry.relative_to(var).as_posix() in PUBLIC:
                continue
            info = entry.lstat()
            if stat.S_ISLNK(info.st_mode) or stat.S_ISSOCK(info.st_mode):
                continue
            if stat.S_IMODE(info.st_mode) & 0o007:
                open_to_others.append(f"{entry.relative_to(var)} {stat.S_IMODE(info.st_mode):o}")
    assert not open_to_others, open_to_others
    storage = [p for p in (var / "orthanc" / "storage").rglob("*") if p.is_file()]
    sensitive = [var / "portal" / "db.sqlite3", var / "stack.env", *storage[:20]]
    sensitive += [var / "supervisord.conf", var / "orthanc" / "orthanc.json"]
    for path in sensitive:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_the_stack_refuses_to_start_on_a_published_secret(tmp_path: Path, name: str) -> None:
    var = ROOT / "var" / f"test-refuse-{os.getpid()}-{name.lower()}"
    env = {**stack_environment(var), name: PUBLISHED[name][0], "NEURONOVA_ENV": "dev"}
    try:
        result = subprocess.run(
            [sys.executable, "-m", "stack", "render"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        subprocess.run(["rm", "-rf", str(var)], check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert name in result.stdout
