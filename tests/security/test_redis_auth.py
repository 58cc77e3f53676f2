"""Door 6: the broker requires a password, so a forged Celery message cannot reach the workers.

Whoever can publish on the stack's Redis can tell the portal worker that any study's AI job is
done with any volumes (`neuronova.portal.job_event`) or queue work for the inference worker. The
stack's own Redis requires the generated password; a client without it is refused, and the stack
refuses to use an existing Redis that answers without one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
import yaml
from celery import Celery
from neuronova_contracts.signing import signed

from tests.support.stack import ROOT, RunningStack, stack_environment

JOB_EVENT = "neuronova.portal.job_event"


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    return f"redis://{parts.hostname}:{parts.port}{parts.path}"


def test_a_client_without_the_password_is_refused(stack: RunningStack) -> None:
    url = stack.config.redis_url
    assert urlsplit(url).password, "the stack's broker URL carries no password"
    anonymous = redis.Redis.from_url(_without_password(url), socket_timeout=5)
    with pytest.raises(redis.exceptions.AuthenticationError):
        anonymous.ping()
    with pytest.raises(redis.exceptions.AuthenticationError):
        anonymous.lpush("portal", b"{}")
    wrong = redis.Redis.from_url(
        url.replace(urlsplit(url).password or "", "wrong"), socket_timeout=5
    )
    with pytest.raises(redis.exceptions.AuthenticationError):
        wrong.ping()
    assert redis.Redis.from_url(url, socket_timeout=5).ping()


def _report(stack: RunningStack, study_uid: str) -> dict[str, object]:
    request = urllib.request.Request(
        f"{stack.url}/api/studies/{study_uid}/report",
        headers={"Authorization": f"Bearer {stack.token('radiologist')}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.loads(response.read()))


def test_a_forged_job_event_without_credentials_never_reaches_the_portal(
    stack: RunningStack,
) -> None:
    study_uid = stack.send_demo_study(seed=61)
    orthanc = stack.orthanc_url
    request = urllib.request.Request(f"{orthanc}/tools/lookup", data=study_uid.encode())
    request.add_header("Authorization", _basic(stack.orthanc_auth))
    with urllib.request.urlopen(request, timeout=10) as response:
        (found,) = json.loads(response.read())
    forged = {
        "job_id": "forged-job",
        "study_uid": study_uid,
        "orthanc_study_id": found["ID"],
        "state": "done",
        "reason": "",
        "model_id": "nn-brain-tumour-synth",
        "model_version": "1.1.0",
        "seg_series_uid": "",
        "volumes_ml": {"Enhancing tumour": 999.0},
        "at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
    }
    attacker = Celery("attacker", broker=_without_password(stack.config.redis_url), fixups=[])
    attacker.conf.broker_connection_retry = False
    attacker.conf.broker_connection_max_retries = 0
    with pytest.raises(Exception) as refused:  # kombu wraps the Redis error in its own
        attacker.send_task(JOB_EVENT, kwargs=forged, queue="portal", retry=False)
    assert "auth" in repr(refused.value).lower(), refused.value

    # A legitimate event after it (same broker, with the password) is processed: the forged
    # one, sent first on the same queue, would have been by then.
    legit = Celery("legit", broker=stack.config.redis_url, fixups=[])
    marker = {**forged, "job_id": "marker-job", "state": "queued", "volumes_ml": {}}
    marker["at"] = datetime.now(UTC).isoformat()
    # Signed with the stack's task key (tests/security/test_task_signing.py: unsigned is refused).
    legit.send_task(
        JOB_EVENT, kwargs=signed(stack.config.task_key, JOB_EVENT, marker), queue="portal"
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _report(stack, study_uid)["status"] == "none":
        time.sleep(1)
    report = _report(stack, study_uid)
    assert report["status"] != "none", report
    volumes = [label["volume_ml"] for label in report["labels"]]  # type: ignore[attr-defined]
    assert 999.0 not in volumes, report


def _basic(auth: tuple[str, str]) -> str:
    import base64  # noqa: PLC0415

    return "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()


EXTERNAL_PASSWORD = "an-external-redis-password-0123456789"


def _redis_server(tmp_path: Path, *extra: str) -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", *extra],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=port, socket_timeout=1).ping()
                break
            except redis.exceptions.AuthenticationError:
                break
            except redis.exceptions.ConnectionError:
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def open_redis(tmp_path: Path) -> Iterator[int]:
    """A Redis without a password, like the one many machines (this CI's too) already run."""
    yield from _redis_server(tmp_path)


@pytest.fixture
def protected_redis(tmp_path: Path) -> Iterator[int]:
    yield from _redis_server(tmp_path, "--requirepass", EXTERNAL_PASSWORD)


def _render(url: str, name: str) -> subprocess.CompletedProcess[str]:
    """`python -m stack render` against an external Redis (the decision `make up` makes)."""
    var = ROOT / "var" / f"test-{name}-{os.getpid()}"
    env = {**stack_environment(var), "NEURONOVA_REDIS_URL": url, "NEURONOVA_MANAGE_REDIS": "auto"}
    try:
        return subprocess.run(
            [sys.executable, "-m", "stack", "render"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        shutil.rmtree(var, ignore_errors=True)


def test_the_stack_refuses_a_redis_that_answers_without_a_password(open_redis: int) -> None:
    result = _render(f"redis://127.0.0.1:{open_redis}/0", "open-redis")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "without a password" in result.stdout


def test_an_external_redis_is_used_only_with_its_password(protected_redis: int) -> None:
    wrong = _render(f"redis://:not-it@127.0.0.1:{protected_redis}/0", "wrong-redis")
    assert wrong.returncode == 2, wrong.stdout + wrong.stderr
    assert "refuses the stack's password" in wrong.stdout
    right = _render(f"redis://:{EXTERNAL_PASSWORD}@127.0.0.1:{protected_redis}/0", "ext-redis")
    assert right.returncode == 0, right.stdout + right.stderr
    assert "redis.conf" not in right.stdout  # the stack runs no Redis of its own then


def test_compose_redis_requires_the_password() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    redis_service = compose["services"]["redis"]
    # The image's entrypoint hands the password to redis-server on standard input (never on a
    # command line); compose must neither override that nor start Redis without the password.
    assert "command" not in redis_service
    assert "entrypoint" not in redis_service
    assert redis_service["environment"]["REDIS_PASSWORD"].startswith("${REDIS_PASSWORD:?")
    entrypoint = (ROOT / "docker" / "redis" / "entrypoint.sh").read_text()
    assert "requirepass %s" in entrypoint
    assert ': "${REDIS_PASSWORD:?' in entrypoint
    for anchor in ("x-portal-env", "x-inference-env"):
        url = compose[anchor]["NEURONOVA_REDIS_URL"]
        assert re.fullmatch(r"redis://:\$\{REDIS_PASSWORD(:\?[^}]*)?\}@redis:6379/0", url), url
    orthanc = json.loads((ROOT / "docker" / "orthanc" / "orthanc.json").read_text())
    assert urlsplit(orthanc["NeuroNova"]["RedisUrl"]).password == "${REDIS_PASSWORD}"
