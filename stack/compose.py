"""Wiring: `python -m stack compose build|up|down|ps|logs|modality` — the production compose run.

The same secrets discipline as the native run: the first `up` draws every secret into
``var/compose/.env`` (0600) and later commands read it; values set in the environment win.
`up` renders the Orthanc tier (stack/compose_cluster.py: N replicas, the DICOM entry's
nginx.conf, ``orthanc-replicas.yml`` on top of docker-compose.yml) and returns once every
container is running and each healthcheck says healthy, printing the time it took. N comes from
``--orthanc-replicas``, else ``NEURONOVA_ORTHANC_REPLICAS`` (environment, then the env file),
else the count already rendered, else 1.

Modalities: ``var/compose/modalities.json`` is the list (AE title and the modality's own host);
`compose modality add|remove` renders the entry's ``allow`` list and source addresses from it,
reloads the entry (returning once its new workers run) and registers every modality at its
host's entry address in each running replica through the REST API, from inside the replica
(no Orthanc port is published).
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

import yaml

from stack import compose_cluster, modalities, secrets_file
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
REPLICAS_FILE = "orthanc-replicas.yml"
REPLICAS_VARIABLE = "NEURONOVA_ORTHANC_REPLICAS"
# Run inside a replica: make its DicomModalities (in the shared index) equal argv[2], through
# its own REST API on port argv[1].
_MODALITY_SCRIPT = """
import base64, json, os, sys, urllib.parse, urllib.request
port, wanted = sys.argv[1], json.loads(sys.argv[2])
token = base64.b64encode(("orthanc:" + os.environ["ORTHANC_PASSWORD"]).encode()).decode()
def call(method, uri, body=None):
    request = urllib.request.Request(
        "http://127.0.0.1:" + port + uri, data=body, method=method,
        headers={"Authorization": "Basic " + token})
    return urllib.request.urlopen(request, timeout=10).read()
for name in sorted(set(json.loads(call("GET", "/modalities"))) - set(wanted)):
    call("DELETE", "/modalities/" + urllib.parse.quote(name, safe=""))
for name, value in sorted(wanted.items()):
    call("PUT", "/modalities/" + urllib.parse.quote(name, safe=""), json.dumps(value).encode())
"""
# Run inside the entry: reload nginx, return once the workers that ran the old configuration
# are gone (nginx starts the new ones first; one still carrying an association past 10 s no
# longer accepts, so move on).
_RELOAD_ENTRY = (
    "workers() { for d in /proc/[0-9]*; do read -r _ _ _ ppid _ 2>/dev/null < $d/stat"
    ' && [ "$ppid" = 1 ] && echo ${d#/proc/}; done; }; '
    "old=$(workers); "
    f"nginx -e stderr -c {compose_cluster.ENTRY_CONF_DIR}/nginx.conf -s reload || exit 1; "
    "for i in $(seq 200); do now=\" $(workers | tr '\\n' ' ') \"; left=0; "
    'for p in $old; do case "$now" in *" $p "*) left=1;; esac; done; '
    '[ "$left" = 0 ] && exit 0; sleep 0.05; done'
)


def compose_dir(var_dir: Path) -> Path:
    return var_dir / "compose"


def rendered_count(var_dir: Path) -> int | None:
    """How many replicas the last `up` rendered, None before the first."""
    try:
        data = yaml.safe_load((compose_dir(var_dir) / REPLICAS_FILE).read_text())
    except FileNotFoundError:
        return None
    return sum(1 for name in data["services"] if name.startswith("orthanc-") and name[8:].isdigit())


def replica_count(var_dir: Path, environ: Mapping[str, str], requested: int | None) -> int:
    """N: ``requested`` (the flag), the environment, the env file, the rendered count, or 1."""
    folder = compose_dir(var_dir)
    in_file = secrets_file.read(folder, names=(REPLICAS_VARIABLE,), file_name=".env")
    value = (
        requested
        or environ.get(REPLICAS_VARIABLE)
        or in_file.get(REPLICAS_VARIABLE)
        or rendered_count(var_dir)
        or 1
    )
    try:
        return compose_cluster.check_count(int(value))
    except ValueError as error:
        raise ConfigError(f"{REPLICAS_VARIABLE}: {error}") from error


def _public(path: Path, text: str) -> None:
    """A rendered file a container reads (no secret in it): 0644 in a 0755 folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o755)
    write_if_changed(path, text, mode=0o644)


def render_cluster(var_dir: Path, count: int) -> Path:
    """The Orthanc tier for ``count`` replicas (stack/compose_cluster.py) under var/compose:
    each replica's orthanc.json, the entry's nginx.conf, and the compose file on top."""
    folder = compose_dir(var_dir)
    base = yaml.safe_load(COMPOSE_FILE.read_text())
    orthanc_base = json.loads((ROOT / "docker" / "orthanc" / "orthanc.json").read_text())
    configs = {
        name: json.dumps(
            compose_cluster.replica_config(orthanc_base, index=index, count=count), indent=2
        )
        + "\n"
        for index, name in enumerate(compose_cluster.replica_names(count), start=1)
    }
    for name, text in configs.items():
        _public(folder / "orthanc" / f"{name}.json", text)
    entry = compose_cluster.entry_conf(count=count, modalities=modalities.read(folder))
    _public(folder / "orthanc-entry" / "nginx.conf", entry)
    services = compose_cluster.override(
        count=count,
        template=base["x-orthanc-replica"],
        compose_dir=str(folder.resolve()),
        replica_configs=configs,
        entry_text=entry,
    )
    target = folder / REPLICAS_FILE
    header = "# Rendered by `python -m stack compose up` (stack/compose_cluster.py); do not edit.\n"
    write_if_changed(target, header + yaml.safe_dump(services, sort_keys=True, width=100))
    return target


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
    replicas: int | None = None  # --orthanc-replicas; else replica_count()'s other sources

    @property
    def env_file(self) -> Path:
        return compose_dir(self.var_dir) / ".env"

    @property
    def replicas_file(self) -> Path:
        return compose_dir(self.var_dir) / REPLICAS_FILE

    def replica_names(self) -> list[str]:
        """The replicas as rendered (orthanc-1 ...); none before the first `up`."""
        return compose_cluster.replica_names(rendered_count(self.var_dir) or 0)

    def command(self, *args: str) -> list[str]:
        binary = shutil.which("docker-compose") or "docker-compose"
        files = ["-f", str(COMPOSE_FILE), *(["-f", str(GPU_FILE)] if self.gpu else [])]
        if self.replicas_file.exists():
            files += ["-f", str(self.replicas_file)]
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
        count = replica_count(self.var_dir, self.environ, self.replicas)
        render_cluster(self.var_dir, count)
        say(f"Orthanc: {count} replica{'s' if count > 1 else ''} behind the DICOM entry")
        started = time.monotonic()
        # docker-compose 1.29 gives up on dependents when a dependency is not healthy yet at its
        # first look; `up` is idempotent, so ask again until the time is spent. Replicas no
        # longer rendered (a smaller N) are orphans: removed.
        while self.run("up", "-d", "--no-build", "--remove-orphans", check=False).returncode != 0:
            self._refuse_dead()
            if time.monotonic() - started > timeout:
                raise ConfigError(
                    "`docker-compose up` kept failing (`python -m stack compose logs`)"
                )
            time.sleep(5)
        self.wait_healthy(timeout - (time.monotonic() - started))
        listed = modalities.path(compose_dir(self.var_dir))
        if listed.exists():  # a replica new or stopped meanwhile gets the list too
            self.apply_modalities(modalities.read(compose_dir(self.var_dir)), count)
        return time.monotonic() - started

    def down(self, *, volumes: bool) -> None:
        self.run("down", "--remove-orphans", *(["-v"] if volumes else []))

    def register_modality(self, name: str, entry: Mapping[str, Any] | None) -> None:
        """Add (``entry``) or remove (None) a modality, effective at once: the list, the entry's
        ``allow`` list and source addresses (nginx reloaded), every running replica."""
        folder = compose_dir(self.var_dir)
        registered = modalities.read(folder)
        if entry is None:
            registered.pop(name, None)
        else:
            registered[name] = dict(entry)
        modalities.write(folder, registered)
        count = rendered_count(self.var_dir)
        if count is None:
            return  # the first `up` renders it
        render_cluster(self.var_dir, count)
        if self.container_states().get("orthanc-entry", ("", ""))[0] == "running":
            self.run("exec", "-T", "orthanc-entry", "sh", "-c", _RELOAD_ENTRY)
        self.apply_modalities(registered, count)

    def apply_modalities(self, registered: Mapping[str, Mapping[str, Any]], count: int) -> None:
        """Every running replica's DicomModalities: each modality at its host's entry address. A
        stopped replica reads the index's copy when it starts; `up` applies the list again."""
        wanted = json.dumps(compose_cluster.registered_behind_entry(registered))
        python = "/opt/neuronova/venv/bin/python"
        states = self.container_states()
        for index, replica in enumerate(compose_cluster.replica_names(count), start=1):
            if states.get(replica, ("", ""))[0] != "running":
                continue
            port = str(compose_cluster.replica_http_port(index))
            self.run("exec", "-T", replica, python, "-c", _MODALITY_SCRIPT, port, wanted)

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
    compose.add_argument(
        "--orthanc-replicas",
        type=int,
        default=None,
        help=f"up: N Orthanc replicas behind the DICOM entry (else ${REPLICAS_VARIABLE}, "
        "the env file's, the count already running, or 1)",
    )


def cmd_compose(args: argparse.Namespace, var_dir: Path) -> int:
    project = Compose(args.project, var_dir, gpu=args.gpu, replicas=args.orthanc_replicas)
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
