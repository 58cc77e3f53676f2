"""Upgrade: the data a previous release wrote is opened by this one, and nothing is lost.

The previous release (``PREVIOUS``: main as it stood before the production compose work, with
the portal's schema one migration behind) runs from a git worktree on a var folder of its own: `up`,
the demo study C-STOREd and segmented, `down`. This checkout's `up` then starts on that same
folder, which applies the portal's migrations (Orthanc's SQLite index keeps its schema: the same
pinned Orthanc). Every user, patient, study, series, AI job and report, every audit row and every
Orthanc resource is still there, and the report still reads done through nginx.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from stack import secrets_file
from tests.support.stack import ROOT, passable_by_nginx, stack_environment

pytestmark = pytest.mark.timeout(1800)

PREVIOUS = os.environ.get("NEURONOVA_UPGRADE_FROM", "0861d13bc9a5907464a1477a7e05d98f83991a30")
_NAMES = [
    "accounts.User",
    "accounts.PatientAssignment",
    "clinical.Patient",
    "clinical.Study",
    "clinical.Series",
    "clinical.AIJob",
    "audit.AuditEvent",
]
_CENSUS = (
    "import json; from django.apps import apps; "
    f"names = {_NAMES!r}; "
    "print(json.dumps({n: sorted(str(pk) for pk in apps.get_model(n).objects.values_list("
    "'pk', flat=True)) for n in names}))"
)


def _run(root: Path, env: dict[str, str], *args: str, timeout: float = 600) -> str:
    result = subprocess.run(
        [sys.executable, *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (
        f"{args} in {root}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    )
    return result.stdout


def _census(root: Path, env: dict[str, str], var_dir: Path) -> dict[str, Any]:
    """The portal's rows through `root`'s own code, and Orthanc's resources."""
    started = dict(
        line.split("=", 1)
        for line in (var_dir / "stack.env").read_text().splitlines()
        if "=" in line
    )
    paths = [
        root / "django-portal",
        *([root / "contracts"] if (root / "contracts").is_dir() else []),
    ]
    manage_env = {
        **env,
        **started,
        "PYTHONPATH": ":".join(map(str, paths)),
        "DJANGO_SETTINGS_MODULE": "neuronova_portal.settings",
    }
    out = _run(root, manage_env, str(root / "django-portal" / "manage.py"), "shell", "-c", _CENSUS)
    rows: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    auth = (started["ORTHANC_USERNAME"], started["ORTHANC_PASSWORD"])
    statistics = requests.get(f"{started['ORTHANC_URL']}/statistics", auth=auth, timeout=10).json()
    for key in ("CountPatients", "CountStudies", "CountSeries", "CountInstances"):
        rows[key] = statistics[key]
    return rows


def _has_previous() -> bool:
    command = ["git", "-C", str(ROOT), "cat-file", "-e", f"{PREVIOUS}^{{commit}}"]
    return subprocess.run(command, check=False, capture_output=True).returncode == 0


@pytest.fixture
def previous_release() -> Iterator[Path]:
    if not _has_previous():
        # A shallow clone (as some CI systems make) lacks the release: ask its origin for the
        # history once, then fail with the reason if that was not enough.
        subprocess.run(
            ["git", "-C", str(ROOT), "fetch", "--quiet", "--unshallow", "origin"],
            check=False,
            capture_output=True,
            timeout=300,
        )
    if not _has_previous():
        pytest.fail(
            f"the previous release {PREVIOUS} is not in this clone's history (a shallow clone?)"
        )
    with tempfile.TemporaryDirectory(prefix="nn-previous-") as folder:
        tree = Path(folder) / "previous"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), PREVIOUS],
            check=True,
            capture_output=True,
        )
        try:
            yield tree
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False
            )


def test_previous_releases_data_survives_the_upgrade(previous_release: Path) -> None:
    var_dir = ROOT / "var" / f"test-upgrade-{uuid.uuid4().hex[:8]}"
    passable_by_nginx(var_dir.parent)
    env = {**stack_environment(var_dir), "NEURONOVA_VENV": str((ROOT / ".venv").resolve())}
    env.pop("NEURONOVA_MODELS_DIR", None)
    current = previous_release
    try:
        _run(previous_release, env, "-m", "stack", "up", "--timeout", "300")
        sent = _run(previous_release, env, "-m", "stack", "demo", "--small", "--timeout", "300")
        assert "sent study" in sent, sent
        study_uid = sent.split("sent study ", 1)[1].split()[0]
        env_with_secrets = secrets_file.environment(env, var_dir)
        before = _census(previous_release, env_with_secrets, var_dir)
        # The SEG's series reaches the portal when the study turns stable again after the SEG.
        deadline = time.monotonic() + 180
        while len(before["clinical.Series"]) != before["CountSeries"]:
            assert time.monotonic() < deadline, before
            time.sleep(2)
            before = _census(previous_release, env_with_secrets, var_dir)
        assert before["clinical.AIJob"], before
        _run(previous_release, env, "-m", "stack", "down")
        assert "NEURONOVA_TASK_KEY=" not in (var_dir / "secrets.env").read_text()

        current = ROOT
        _run(ROOT, env, "-m", "stack", "up", "--timeout", "300")
        # The Celery task key is new since that release: `up` adds it to the existing file.
        assert secrets_file.read(var_dir)["NEURONOVA_TASK_KEY"]
        after = _census(ROOT, env_with_secrets, var_dir)
        for name, rows in before.items():
            if name == "audit.AuditEvent":  # this release's own reads may add rows
                assert set(rows) <= set(after[name]), name
            else:
                assert after[name] == rows, name
        started = dict(
            line.split("=", 1)
            for line in (var_dir / "stack.env").read_text().splitlines()
            if "=" in line
        )
        url = f"http://127.0.0.1:{started['NEURONOVA_HTTP_PORT']}"
        token = requests.post(
            f"{url}/api/auth/token",
            json={"username": "radiologist", "password": "radiologist-dev-pass"},
            timeout=30,
        ).json()["access"]
        report = requests.get(
            f"{url}/api/studies/{study_uid}/report",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).json()
        assert report["status"] == "done", report
        assert report["labels"], report
    finally:
        subprocess.run(
            [sys.executable, "-m", "stack", "down"],
            cwd=current,
            env=env,
            capture_output=True,
            check=False,
        )
        shutil.rmtree(var_dir, ignore_errors=True)
