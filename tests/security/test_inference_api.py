"""Door 5: the inference HTTP API answers only its authenticated callers, runs only installed
models, and its port is never published.

The service runs for real (uvicorn on a spare loopback port, the command supervisord runs); its
Orthanc is a closed port, so a request that got past the checks would fail on Orthanc instead of
being refused first, and the tests would see the difference.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from stack import render
from stack.config import load
from tests.support.deployables import python_path
from tests.support.models import MODELS_DIR, SHIPPED_MODEL

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "a-test-token-only-this-module-knows-0123456789"
STUDY = "0123abcd-0123abcd-0123abcd-0123abcd-0123abcd"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _port()
    env = {
        **os.environ,
        "PYTHONPATH": python_path("inference"),
        "INFERENCE_API_TOKEN": TOKEN,
        "ORTHANC_URL": f"http://127.0.0.1:{_port()}",  # nothing listens there
        "NEURONOVA_REDIS_URL": f"redis://127.0.0.1:{_port()}/0",
    }
    log = tmp_path_factory.mktemp("inference") / "api.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "neuronova_inference.api:app"),
                *("--host", "127.0.0.1", "--port", str(port)),
            ],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise RuntimeError(log.read_text())
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("headers", [{}, _bearer("wrong"), {"Authorization": TOKEN}])
def test_anonymous_or_wrong_callers_are_refused(api: str, headers: dict[str, str]) -> None:
    segment = httpx.post(
        f"{api}/v1/segment", json={"orthanc_study_id": STUDY}, headers=headers, timeout=30
    )
    assert segment.status_code == 401, segment.text
    assert segment.headers.get("WWW-Authenticate") == "Bearer"
    assert httpx.get(f"{api}/v1/models", headers=headers, timeout=30).status_code == 401


def test_the_token_lets_a_caller_in(api: str) -> None:
    models = httpx.get(f"{api}/v1/models", headers=_bearer(TOKEN), timeout=30)
    assert models.status_code == 200
    assert [m["model_id"] for m in models.json()] == ["nn-brain-tumour-synth"]
    segment = httpx.post(
        f"{api}/v1/segment",
        json={"orthanc_study_id": STUDY},
        headers=_bearer(TOKEN),
        timeout=60,
    )
    assert segment.status_code == 503  # past the checks: Orthanc (closed here) is next


def test_a_model_id_is_never_a_path(api: str, tmp_path: Path) -> None:
    # A readable manifest outside the models folder, as an attacker would point at.
    planted = tmp_path / "planted"
    shutil.copytree(MODELS_DIR / SHIPPED_MODEL, planted)
    manifest = json.loads((planted / "manifest.json").read_text())
    (planted / "manifest.json").write_text(json.dumps({**manifest, "model_id": "planted"}))
    models_dir = MODELS_DIR
    traversal = os.path.relpath(planted, models_dir)
    unknown = None
    for model_id in (traversal, "../nn-brain-tumour-synth", "/etc", "no-such-model"):
        answer = httpx.post(
            f"{api}/v1/segment",
            json={"orthanc_study_id": STUDY, "model_id": model_id},
            headers=_bearer(TOKEN),
            timeout=60,
        )
        assert answer.status_code == 422, (model_id, answer.text)
        detail = answer.json()["detail"]
        assert "planted" not in json.dumps(detail)
        unknown = unknown or detail
        assert detail == unknown, "a path must be answered like any unknown model id"


@pytest.mark.parametrize("study", ["../tools/reset", "0123abcd/../../system", ""])
def test_the_study_id_is_an_orthanc_id(api: str, study: str) -> None:
    answer = httpx.post(
        f"{api}/v1/segment", json={"orthanc_study_id": study}, headers=_bearer(TOKEN), timeout=30
    )
    assert answer.status_code == 422, answer.text


def test_the_port_is_never_published() -> None:
    config = load({}, root=ROOT)
    (program,) = [p for p in render.programs(config, manage_redis=False) if p.name == "inference"]
    assert "--host 127.0.0.1" in program.command
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name in ("inference", "inference-worker"):
        assert "ports" not in compose["services"][name], name
    # Both sides of the AI core's API carry its token: the callers (portal, worker) and the core.
    for anchor in ("x-portal-env", "x-inference-env"):
        assert "INFERENCE_API_TOKEN" in compose[anchor], f"{anchor} must pass the API token"
    assert compose["services"]["inference"]["environment"] == compose["x-inference-env"]
