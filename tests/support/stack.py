"""Wiring for tests: the whole native stack (`python -m stack up`) on spare ports, then down.

The same code path as `make up`, with its own var folder under var/ (nginx's unprivileged workers
must be able to reach the web roots, which rules out pytest's 0700 tmp folders), its own Redis
(so tests may stop it) and SQLite database. Nothing is shared with a developer's running stack.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stack import render, secrets_file
from stack.config import StackConfig, load
from stack.render import NGINX_GROUP
from stack.supervisor import Supervisor

ROOT = Path(__file__).resolve().parents[2]
PORT_NAMES = (
    "NEURONOVA_HTTP_PORT",
    "ORTHANC_HTTP_PORT",
    "ORTHANC_DICOM_PORT",
    "DJANGO_PORT",
    "INFERENCE_PORT",
    "NEURONOVA_WORKER_METRICS_PORT",
    "REDIS_PORT",
)


def free_ports(count: int) -> list[int]:
    """Ports the kernel calls free now, all distinct (sockets held open together while asking)."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


@dataclass
class RunningStack:
    config: StackConfig
    env: dict[str, str]

    @property
    def url(self) -> str:
        return self.config.public_url

    @property
    def orthanc_url(self) -> str:
        return self.config.orthanc_url

    @property
    def orthanc_auth(self) -> tuple[str, str]:
        return (self.config.orthanc_username, self.config.orthanc_password)

    @property
    def dicom_port(self) -> int:
        return self.config.orthanc_dicom_port

    @property
    def aet(self) -> str:
        return self.config.orthanc_aet

    @property
    def supervisor(self) -> Supervisor:
        return Supervisor(self.config)

    def cli(self, *args: str, timeout: float = 400) -> subprocess.CompletedProcess[str]:
        """`python -m stack ARGS` against this stack (what `make up/down/status` run)."""
        return subprocess.run(
            [sys.executable, "-m", "stack", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def health(self) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(self.url + "/api/health", timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def send_demo_study(
        self, *, seed: int | None = None, small: bool = True, preset: str | None = None
    ) -> str:
        """C-STORE a generated brain MR study the way `make demo` does; its StudyInstanceUID.

        ``preset`` names another acquisition layout (neuronova_lab.synthetic.presets)."""
        args = ["demo", "--no-wait", *(["--preset", preset] if preset else [])]
        args += ["--small"] if small and not preset else []
        args += ["--seed", str(seed)] if seed is not None else []
        result = self.cli(*args, timeout=300)
        match = re.search(r"sent study (\S+) \((\d+) instances, 0 failed\)", result.stdout)
        assert match, f"demo C-STORE did not report success: {result.stdout}{result.stderr}"
        return match.group(1)

    def manage(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """`manage.py ARGS` against this stack's own portal database, as `make demo` runs it."""
        return subprocess.run(
            [sys.executable, str(ROOT / "django-portal" / "manage.py"), *args],
            cwd=ROOT,
            env=render.manage_environment(self.config),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def token(self, username: str, password: str | None = None) -> str:
        """An access token for a dev user (`<name>-dev-pass` unless given)."""
        body = json.dumps(
            {"username": username, "password": password or f"{username}-dev-pass"}
        ).encode()
        request = urllib.request.Request(
            self.url + "/api/auth/token",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(json.loads(response.read())["access"])


def stack_environment(var_dir: Path) -> dict[str, str]:
    ports = dict(zip(PORT_NAMES, free_ports(len(PORT_NAMES)), strict=True))
    env = {
        **os.environ,
        **{name: str(port) for name, port in ports.items() if name != "REDIS_PORT"},
        "NEURONOVA_VAR": str(var_dir),
        "NEURONOVA_REDIS_URL": f"redis://127.0.0.1:{ports['REDIS_PORT']}/0",
        "NEURONOVA_MANAGE_REDIS": "yes",
        "NEURONOVA_ENV": "dev",
    }
    env.pop("DATABASE_URL", None)  # the stack's own SQLite unless a test module asks otherwise
    env.pop("NEURONOVA_TASK_KEY", None)  # the one `up` generates into var/secrets.env
    return env


@contextmanager
def native_stack(extra_env: dict[str, str] | None = None) -> Iterator[RunningStack]:
    var_dir = ROOT / "var" / f"test-stack-{uuid.uuid4().hex[:8]}"
    passable_by_nginx(var_dir.parent)
    env = {**stack_environment(var_dir), **(extra_env or {})}
    running = RunningStack(config=load(env, root=ROOT), env=env)
    try:
        result = running.cli("up", "--timeout", "300")
        # The secrets `up` generated, read from var/secrets.env as the stack itself reads them.
        running.env = secrets_file.environment(env, var_dir)
        running.config = load(running.env, root=ROOT)
        if result.returncode != 0:
            logs = "\n".join(
                f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
                for path in sorted((var_dir / "log").glob("*.log"))
            )
            raise RuntimeError(f"stack up failed:\n{result.stdout}\n{result.stderr}\n{logs}")
        yield running
    finally:
        down = running.cli("down", timeout=180)
        leftovers = processes_of(var_dir)
        ports = [port for port in running_ports(running.config) if port_in_use(port)]
        mounts = mounts_of(var_dir)
        crashed = crashes_in(var_dir / "log" / "supervisord.log")
        shutil.rmtree(var_dir, ignore_errors=True)
    # `make down` must leave no process, port or mount behind: checked on every test session's
    # stack (Orthanc runs chrooted with bind mounts, scripts/orthanc-root.sh).
    # ... and every service must have ended by itself on `down`, none by a signal it did not ask
    # for (Orthanc died of SIGSEGV on every stop before the plugin held its REST callbacks, and
    # replicas on PostgreSQL did until the plugin ended the process itself: docs/plugin.md).
    if down.returncode != 0 or leftovers or ports or mounts or crashed:
        raise AssertionError(
            f"stack down left pids {leftovers}, ports {ports}, mounts {mounts}, "
            f"crashed {crashed}:\n"
            f"{down.stdout}{down.stderr}"
        )


def crashes_in(supervisord_log: Path) -> list[str]:
    """supervisord's lines for a program that a stop ended with a signal such as SIGSEGV, or
    SIGKILL after it outlived ``stopwaitsecs`` (a clean stop reads ``stopped: NAME (exit status
    0)`` or ``(terminated by SIGTERM)``; a test's own kill reads ``exited:`` and is not counted)."""
    if not supervisord_log.is_file():
        return []
    return [
        line
        for line in supervisord_log.read_text(errors="replace").splitlines()
        if " stopped: " in line
        and "terminated by SIG" in line
        and "terminated by SIGTERM" not in line
    ]


def mounts_of(var_dir: Path) -> list[str]:
    """Mount points on this machine that name the stack's var folder (bound into Orthanc's root)."""
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    return [line.split()[4] for line in lines if str(var_dir) in line]


def passable_by_nginx(folder: Path) -> None:
    """The folder holding the test stacks' var folders: nginx's workers (nobody:nogroup) must
    pass through it to their web roots. `up` creates missing parents under umask 077 (0700),
    which left a fresh checkout's viewer and portal answering 500; a folder others may already
    pass through is left as it is."""
    folder.mkdir(exist_ok=True)
    mode = folder.stat().st_mode
    if not mode & stat.S_IXOTH:
        shutil.chown(folder, group=NGINX_GROUP)
        folder.chmod(stat.S_IMODE(mode) | stat.S_IXGRP)


def processes_of(var_dir: Path) -> list[int]:
    """Pids whose environment names this stack's var folder (every program of ours gets it)."""
    marker = f"NEURONOVA_VAR={var_dir}".encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker in environ:
            pids.append(int(proc.name))
    return pids


def running_ports(config: StackConfig) -> list[int]:
    return [*config.ports, config.redis_port]


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0
