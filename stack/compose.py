"""Wiring: `python -m stack compose build|up|down|ps|logs|modality` — the production compose run.

The same secrets discipline as the native run: the first `up` draws every secret into
``var/compose/.env`` (0600) and later commands read it; values set in the environment win.
`up` returns once every container is running and each healthcheck says healthy, printing the
time it took. Modalities are registered in Orthanc's index through its REST API, from inside
the Orthanc container (its port is not published).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stack import modalities, secrets_file
from stack.config import ConfigError
from stack.var_files import say, write_if_changed

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
GPU_FILE = ROOT / "docker-compose.gpu.yml"
SECRET_NAMES = (
    "DJANGO_SECRET_KEY",
    "JWT_SIGNING_KEY",
    "ORTHANC_PASSWORD",
    "REDIS_PASSWORD",
    "INFERENCE_API_TOKEN",
    "ORTHANC_DB_PASSWORD",
    "PORTAL_DB_PASSWORD",
    "NEURONOVA_TASK_KEY",
)
DEFAULT_PROJECT = "neuronova"
# Run inside the Orthanc container: PUT/DELETE one modality through the local REST API.
_MODALITY_SCRIPT = """
import base64, json, os, sys, urllib.request
name, body = sys.argv[1], sys.argv[2]
token = base64.b64encode(("orthanc:" + os.environ["ORTHANC_PASSWORD"]).encode()).decode()
request = urllib.request.Request(
    "http://127.0.0.1:8042/modalities/" + name, data=body.encode() if body else None,
    method="PUT" if body else "DELETE", headers={"Authorization": "Basic " + token})
urllib.request.urlopen(request, timeout=10).read()
"""


def compose_dir(var_dir: Path) -> Path:
    return var_dir / "compose"


def ensure_secrets(var_dir: Path) -> dict[str, str]:
    """The env file docker-compose reads (secrets only); the Prometheus secret file next to it."""
    folder = compose_dir(var_dir)
    values = secrets_file.ensure(folder, names=SECRET_NAMES, file_name=".env")
    write_if_changed(folder / "orthanc_password", values["ORTHANC_PASSWORD"])
    return values


@dataclass
class Compose:
    """One compose project: its name, env file and the environment docker-compose runs with."""

    project: str
    var_dir: Path
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    gpu: bool = False

    @property
    def env_file(self) -> Path:
        return compose_dir(self.var_dir) / ".env"

    def command(self, *args: str) -> list[str]:
        binary = shutil.which("docker-compose") or "docker-compose"
        files = ["-f", str(COMPOSE_FILE), *(["-f", str(GPU_FILE)] if self.gpu else [])]
        return [binary, "-p", self.project, *files, "--env-file", str(self.env_file), *args]

    def run(
        self, *args: str, check: bool = True, capture: bool = False, input_text: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - docker-compose with our arguments
            self.command(*args),
            cwd=ROOT,
            env={
                **self.environ,
                "COMPOSE_PROJECT_NAME": self.project,
                "NEURONOVA_COMPOSE_DIR": str(compose_dir(self.var_dir)),
            },
            check=check,
            text=True,
            capture_output=capture,
            input=input_text,
        )

    def container_states(self) -> dict[str, tuple[str, str]]:
        """service -> (state, health) of each of the project's containers ("" when no check)."""
        ids = self.run("ps", "-q", capture=True).stdout.split()
        if not ids:
            return {}
        fmt = (
            '{{index .Config.Labels "com.docker.compose.service"}}|{{.State.Status}}|'
            "{{if .State.Health}}{{.State.Health.Status}}{{end}}"
        )
        lines = subprocess.run(  # noqa: S603
            ["docker", "inspect", "-f", fmt, *ids],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        states = {}
        for line in lines:
            service, state, health = line.split("|")
            states[service] = (state, health)
        return states

    def wait_healthy(self, timeout: float) -> float:
        """Seconds until every container runs and is healthy; raises ConfigError past timeout."""
        started = time.monotonic()
        last = ""
        while time.monotonic() - started < timeout:
            states = self.container_states()
            waiting = sorted(
                f"{name}={health or state}"
                for name, (state, health) in states.items()
                if state != "running" or health not in {"", "healthy"}
            )
            if states and not waiting:
                return time.monotonic() - started
            self._refuse_dead()
            line = f"waiting for {', '.join(waiting) or 'containers'}"
            if line != last:
                say(line)
                last = line
            time.sleep(2)
        raise ConfigError(f"not healthy within {timeout:.0f} s: {last}")

    def _refuse_dead(self) -> None:
        """A container that exited or restarts will not turn healthy by waiting: say which."""
        dead = sorted(
            name
            for name, (state, _) in self.container_states().items()
            if state in {"exited", "dead", "restarting"}
        )
        if dead:
            logs = self.run("logs", "--tail", "30", *dead, check=False, capture=True)
            raise ConfigError(f"containers stopped: {dead}\n{logs.stdout[-4000:]}")

    def up(self, timeout: float) -> float:
        ensure_secrets(self.var_dir)
        started = time.monotonic()
        # docker-compose 1.29 gives up on dependents when a dependency is not healthy yet at its
        # first look; `up` is idempotent, so ask again until the time is spent.
        while self.run("up", "-d", "--no-build", check=False).returncode != 0:
            self._refuse_dead()
            if time.monotonic() - started > timeout:
                raise ConfigError(
                    "`docker-compose up` kept failing (`python -m stack compose logs`)"
                )
            time.sleep(5)
        self.wait_healthy(timeout - (time.monotonic() - started))
        return time.monotonic() - started

    def down(self, *, volumes: bool) -> None:
        self.run("down", "--remove-orphans", *(["-v"] if volumes else []))

    def register_modality(self, name: str, entry: Mapping[str, Any] | None) -> None:
        """Add (``entry``) or remove (None) a modality in Orthanc's index, effective at once."""
        body = json.dumps(entry) if entry is not None else ""
        python = "/opt/neuronova/venv/bin/python"
        self.run("exec", "-T", "orthanc", python, "-c", _MODALITY_SCRIPT, name, body)

    def network_gateway(self, service: str = "orthanc", network: str = "frontend") -> str:
        """The address published ports' connections from this host come from (docker-proxy):
        the gateway of ``service``'s container on ``network``."""
        container = self.run("ps", "-q", service, capture=True).stdout.strip()
        fmt = f'{{{{(index .NetworkSettings.Networks "{self.project}_{network}").Gateway}}}}'
        return subprocess.run(  # noqa: S603
            ["docker", "inspect", "-f", fmt, container],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()


def add_parser(sub: Any) -> None:  # noqa: ANN401 - argparse's private _SubParsersAction
    compose = sub.add_parser("compose", help="the production docker compose run")
    compose.add_argument(
        "action", choices=["build", "up", "down", "ps", "logs", "modality", "backup", "restore"]
    )
    compose.add_argument(
        "args", nargs="*", help="modality: add NAME IP [AET] | remove NAME; backup|restore: DIR"
    )
    compose.add_argument("--project", default=os.environ.get("NEURONOVA_PROJECT", DEFAULT_PROJECT))
    compose.add_argument("--gpu", action="store_true", help="with docker-compose.gpu.yml")
    compose.add_argument("--volumes", action="store_true", help="down: delete the data too")
    compose.add_argument("--timeout", type=float, default=600.0)


def cmd_compose(args: argparse.Namespace, var_dir: Path) -> int:
    project = Compose(args.project, var_dir, gpu=args.gpu)
    if args.action == "build":
        return subprocess.run([str(ROOT / "scripts" / "compose-images.sh")], check=False).returncode  # noqa: S603
    if args.action == "up":
        say(f"{args.project} healthy in {project.up(args.timeout):.0f} s")
        return 0
    if args.action == "down":
        project.down(volumes=args.volumes)
        return 0
    if args.action in {"backup", "restore"}:
        from stack import compose_backup  # noqa: PLC0415 - it imports this module

        if len(args.args) != 1:
            raise ConfigError(f"usage: compose {args.action} DIR")
        folder = Path(args.args[0])
        if args.action == "backup":
            compose_backup.backup(project, folder)
        else:
            seconds = compose_backup.restore(project, folder, timeout=args.timeout)
            say(f"restored from {folder}; healthy in {seconds:.0f} s")
        return 0
    if args.action in {"ps", "logs"}:
        return project.run(args.action, *args.args, check=False).returncode
    return _modality(project, args.args)


def _modality(project: Compose, words: Sequence[str]) -> int:
    if len(words) >= 3 and words[0] == "add":
        name, host = words[1], words[2]
        project.register_modality(
            name, modalities.entry(words[3] if len(words) > 3 else name, host)
        )
        say(f"registered modality {name} ({host})")
        return 0
    if len(words) == 2 and words[0] == "remove":
        project.register_modality(words[1], None)
        say(f"removed modality {words[1]}")
        return 0
    raise ConfigError("usage: compose modality add NAME IP [AET] | compose modality remove NAME")
