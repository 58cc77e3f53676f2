"""Fixtures for the browser tests: the session's native stack, the demo study with its AI result,
one Chromium for the session and a fresh browser context (no cookies) per test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page

from stack.config import load
from tests.support.deployables import python_path
from tests.support.stack import ROOT, RunningStack
from tests.support.web import FrameLog, chromium

DEMO_SEED = 424242
AI_TIMEOUT_S = 420


@dataclass(frozen=True)
class Demo:
    study_uid: str
    patient_id: str


def api_get(stack: RunningStack, token: str, path: str) -> Any:
    request = urllib.request.Request(
        stack.url + path, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        return json.loads(response.read())


def manage(stack: RunningStack, *args: str) -> None:
    """Runs a Django management command against the stack's own database."""
    env_file = stack.config.var_dir / "stack.env"
    env = dict(os.environ)
    for line in env_file.read_text().splitlines():
        key, _, value = line.partition("=")
        if key and not key.startswith("#"):
            env[key] = value
    env["PYTHONPATH"] = python_path("django-portal")
    subprocess.run(
        [sys.executable, str(ROOT / "django-portal" / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


def wait_for_ai_done(stack: RunningStack, study_uid: str, token: str) -> dict[str, Any]:
    """Polls the portal until the study's AI report is done; fails if it never is."""
    deadline = time.monotonic() + AI_TIMEOUT_S
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = api_get(stack, token, f"/api/studies/{study_uid}/report")
            if last.get("status") == "done" and last.get("seg_series_uid"):
                return dict(last)
            if last.get("status") in ("failed", "skipped"):
                jobs = api_get(stack, token, f"/api/studies/{study_uid}/jobs")
                pytest.fail(f"AI job for the demo study ended {last}; jobs {jobs}")
        except urllib.error.HTTPError as error:
            last = f"HTTP {error.code}"
        time.sleep(2)
    # A stack whose AI side is down is exactly what these tests exist to catch: fail, saying so.
    status, health = stack.health()
    failing = health.get("failing") or []
    pytest.fail(
        f"demo study AI not done after {AI_TIMEOUT_S}s; last report {last}; "
        f"health {status}, failing {failing}"
    )


class ExistingStack(RunningStack):
    """A stack someone already started (developer aid, see web_stack)."""

    public_url: str = ""

    @property
    def url(self) -> str:
        return self.public_url or self.config.public_url


@pytest.fixture(scope="session")
def web_stack(request: pytest.FixtureRequest) -> RunningStack:
    """The session's native stack; or, for a developer, a running one: NEURONOVA_E2E_VAR names its
    var folder (its stack.env is read) and NEURONOVA_E2E_URL optionally the URL to browse."""
    var = os.environ.get("NEURONOVA_E2E_VAR")
    if not var:
        running: RunningStack = request.getfixturevalue("stack")
        return running
    env = dict(os.environ)
    for line in (Path(var) / "stack.env").read_text().splitlines():
        key, _, value = line.partition("=")
        if key and not key.startswith("#"):
            env[key] = value
    existing = ExistingStack(config=load(env, root=ROOT), env=env)
    existing.public_url = os.environ.get("NEURONOVA_E2E_URL", "")
    return existing


@pytest.fixture(scope="session")
def demo(web_stack: RunningStack) -> Demo:
    """The demo study, visible to `clinician` (not `clinician2`), with its AI result done."""
    study_uid = web_stack.send_demo_study(seed=DEMO_SEED)
    patient_id = f"NN-SYN-{DEMO_SEED:05d}"
    manage(web_stack, "assign_patient", "clinician", patient_id)
    return Demo(study_uid=study_uid, patient_id=patient_id)


@pytest.fixture(scope="session")
def demo_report(web_stack: RunningStack, demo: Demo) -> dict[str, Any]:
    return wait_for_ai_done(web_stack, demo.study_uid, web_stack.token("radiologist"))


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with chromium() as running:
        yield running


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    # Chromium's CSP refusals, so a viewer test can say why no image ever rendered.
    csp_errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            csp_errors.append(message.text[:300])

    page.on("console", on_console)
    setattr(page, "csp_errors", csp_errors)  # noqa: B010 - read by tests.support.web
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def frame_log(page: Page) -> FrameLog:
    """Records the frames the viewer fetches (ask for it before navigating)."""
    log = FrameLog()
    page.on("response", log.record)
    return log
