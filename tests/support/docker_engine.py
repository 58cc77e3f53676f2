"""Test helper: a working Docker engine on this Debian machine, or a failure that says why.

Debian's ``docker.io`` is installed when ``dockerd`` is missing, and ``dockerd`` is started when
the engine does not answer; an engine this helper started is stopped again afterwards (images
and build layers stay in /var/lib/docker for the next run).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

START_TIMEOUT_S = 60.0


def answers() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    probe = subprocess.run([docker, "info"], capture_output=True, check=False, timeout=30)
    return probe.returncode == 0


def _install() -> None:
    if shutil.which("dockerd") and shutil.which("docker"):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(
        ["apt-get", "install", "-y", "-q", "docker.io"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if result.returncode != 0:
        pytest.fail(f"cannot install Debian's docker.io: {result.stderr[-2000:]}")


@contextmanager
def docker_engine(log: Path) -> Iterator[None]:
    """Yield once `docker info` answers; fail (never skip) when Docker cannot be made to work."""
    if answers():
        yield
        return
    _install()
    dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
    with log.open("ab") as output:
        process = subprocess.Popen(
            [dockerd], stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not answers():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"dockerd did not start (exit {process.poll()}); see {log}")
            time.sleep(1)
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
