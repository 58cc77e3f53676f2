"""Wiring: `python -m stack up|down|status|logs|demo|modality|render` — behind `make up` etc.

`up` is idempotent: configs are rewritten only when their text changes, supervisord applies only
changed programs, and an already healthy stack is left alone.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import yaml

from observability.prometheus.render import render as prometheus_render
from stack import (
    backup,
    broker,
    compose,
    operations,
    orthanc_database,
    render,
    secrets_file,
    var_modes,
)
from stack.config import ConfigError, StackConfig, load, missing_secrets, var_dir_of
from stack.supervisor import Supervisor
from stack.var_files import orthanc_files, say, write_if_changed

HEALTH_PATH = "/api/health"


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def decide_manage_redis(config: StackConfig, supervisor: Supervisor) -> bool:
    """Run our own Redis where nothing answers; otherwise use the one there (if it demands the
    password: checked by broker.check_external before anything starts).

    The decision is kept in var/run while supervisord runs: our own Redis answering on the next
    `make up` must not be mistaken for an external one.
    """
    marker = config.var_dir / "run" / "redis-managed"
    wanted = os.environ.get("NEURONOVA_MANAGE_REDIS", "auto")
    if wanted in {"yes", "no"}:
        return wanted == "yes"
    if supervisor.running() and marker.exists():
        return marker.read_text().strip() == "yes"
    return broker.state(config) is broker.RedisState.ABSENT


def check_ready(config: StackConfig, *, manage_redis: bool) -> None:
    """What must hold before anything is rendered or started; raises ConfigError."""
    missing = missing_secrets(config)
    if missing:
        raise ConfigError(f"no value for {', '.join(missing)} (var/secrets.env is incomplete)")
    if not manage_redis:
        broker.check_external(config)


def render_all(config: StackConfig, *, manage_redis: bool) -> list[str]:
    var = config.var_dir
    for sub in ("run", "log", "orthanc/storage", "orthanc/index", "portal", "redis", "nginx/www"):
        (var / sub).mkdir(parents=True, exist_ok=True)
    var_modes.apply(config)
    _link(var / "nginx" / "www" / "spa", config.root / "spa" / "dist")
    _link(var / "nginx" / "www" / "pacs-viewer", config.root / "ohif-build" / "dist")

    values = render.nginx_values(config)
    nginx_dir = config.root / "nginx"
    files = {
        **orthanc_files(config),
        var / "nginx" / "neuronova.conf": render.substitute(
            (nginx_dir / "neuronova.conf.template").read_text(), values
        ),
        var / "nginx" / "nginx.conf": render.substitute(
            (nginx_dir / "nginx.native.conf.template").read_text(), values
        ),
        var / "supervisord.conf": render.supervisord_conf(
            config, render.programs(config, manage_redis=manage_redis)
        ),
        var / "stack.env": "".join(
            f"{key}={value}\n" for key, value in sorted(config.service_environment().items())
        ),
        var / "run" / "redis-managed": "yes\n" if manage_redis else "no\n",
    }
    if manage_redis:
        files[var / "redis" / "redis.conf"] = render.redis_conf(config)
    if config.prometheus_port is not None:
        base_prometheus = yaml.safe_load(
            (config.root / "observability" / "prometheus" / "prometheus.yml").read_text()
        )
        (var / "prometheus" / "data").mkdir(parents=True, exist_ok=True)
        files[var / "prometheus" / "prometheus.yml"] = yaml.safe_dump(
            prometheus_render(
                base_prometheus,
                {
                    **config.service_environment(),
                    "PROMETHEUS_PORT": str(config.prometheus_port),
                    "ORTHANC_METRICS_PORTS": ",".join(
                        str(r.http_port) for r in config.orthanc_replicas
                    ),
                },
                rules_dir=config.root / "observability" / "prometheus" / "rules",
            ),
            sort_keys=False,
        )
    return [str(path) for path, text in files.items() if write_if_changed(path, text)]


def _link(link: Path, target: Path) -> None:
    if link.is_symlink() and link.readlink() == target:
        return
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target)


def prepare_portal(config: StackConfig) -> None:
    """Migrations, static files and dev users, before gunicorn starts: all idempotent."""
    manage = config.root / "django-portal" / "manage.py"
    env = {**os.environ, **render.manage_environment(config)}
    python = str(config.venv / "bin" / "python")
    subprocess.run([python, str(manage), "migrate", "--noinput", "-v", "0"], env=env, check=True)  # noqa: S603
    # Django admin's static files, served by nginx at /api/static/ (NN_STATIC).
    collect = [python, str(manage), "collectstatic", "--noinput", "-v", "0"]
    # Public files nginx's workers serve: readable by them, unlike the rest of var/.
    subprocess.run(collect, env=env, check=True, umask=0o022)  # noqa: S603
    if config.env != "production":
        subprocess.run([python, str(manage), "seed_dev_users"], env=env, check=True)  # noqa: S603


def health(config: StackConfig, timeout: float = 5.0) -> tuple[int, dict[str, object]]:
    url = config.public_url + HEALTH_PATH
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - our own URL
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        try:
            body = json.loads(error.read() or b"{}")
        except ValueError:
            body = {}
        return error.code, body
    except (OSError, ValueError) as error:
        return 0, {"error": str(error)}


def failing_checks(body: dict[str, object]) -> list[str]:
    checks = body.get("checks")
    if not isinstance(checks, dict):
        return [str(body.get("error", "no answer"))]
    return sorted(name for name, state in checks.items() if not (state or {}).get("ok"))


def wait_healthy(config: StackConfig, supervisor: Supervisor, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        code, body = health(config)
        if code == 200:
            return True
        states = supervisor.status()
        fatal = sorted(name for name, state in states.items() if state in {"FATAL", "BACKOFF"})
        line = f"waiting for health: http {code or '-'}; failing {failing_checks(body)}"
        if fatal:
            line += f"; not starting: {fatal} (see {config.log_dir}/<name>.log)"
        if line != last:
            say(line)
            last = line
        time.sleep(1.0)
    return False


def cmd_up(config: StackConfig, timeout: float) -> int:
    supervisor = Supervisor(config)
    manage_redis = decide_manage_redis(config, supervisor)
    check_ready(config, manage_redis=manage_redis)
    changed = render_all(config, manage_redis=manage_redis)
    for path in changed:
        say(f"rendered {path}")
    if config.orthanc_postgres is not None:
        say(orthanc_database.ensure(config))
    prepare_portal(config)
    if supervisor.running():
        applied = supervisor.update()
        supervisor.start_all()
        say(f"supervisord already running; {applied or 'no program changed'}")
    else:
        busy = [port for port in config.ports if port_answers("127.0.0.1", port)]
        if busy:
            say(f"ports already in use: {busy}; stop what holds them or set the *_PORT variables")
            return 1
        redis_source = "own Redis" if manage_redis else f"Redis at {config.redis_url_shown}"
        say(f"starting supervisord ({redis_source})")
        supervisor.start()
    if not wait_healthy(config, supervisor, timeout):
        say("not healthy in time; `make status` and `make logs` tell why")
        print(supervisor.status_text())
        return 1
    # Orthanc keeps running across `up`: give it the registered modalities as the file has them.
    operations.apply_modalities(config)
    say(f"NeuroNova is up: {config.public_url}/ (viewer {config.public_url}/pacs-viewer/)")
    return 0


def cmd_down(config: StackConfig) -> int:
    supervisor = Supervisor(config)
    if supervisor.pid() is None:
        say("nothing running")
        return 0
    clean = supervisor.shutdown()
    held = [port for port in config.ports if port_answers("127.0.0.1", port)]
    say("stopped" if clean and not held else f"stopped with leftovers; ports still held: {held}")
    return 0 if clean and not held else 1


def cmd_status(config: StackConfig) -> int:
    supervisor = Supervisor(config)
    if not supervisor.running():
        say("not running")
        return 3
    print(supervisor.status_text(), end="")
    code, body = health(config)
    print(json.dumps({"http": code, **body}, indent=2))
    return 0 if code == 200 else 1


def cmd_logs(config: StackConfig, follow: bool, programs: list[str]) -> int:
    names = programs or sorted(p.stem for p in config.log_dir.glob("*.log"))
    paths = [str(config.log_dir / f"{name}.log") for name in names]
    args = ["tail", "-n", "50", *(["-F"] if follow else []), *paths]
    return subprocess.run(args, check=False).returncode  # noqa: S603


def _as_started(config: StackConfig) -> StackConfig:
    """The ports and URLs the running stack was started with (var/stack.env), not today's env."""
    started = config.var_dir / "stack.env"
    if not started.exists():
        return config
    pairs = (line.split("=", 1) for line in started.read_text().splitlines() if "=" in line)
    return load({**os.environ, **dict(pairs)}, root=config.root)


def cmd_render(config: StackConfig) -> int:
    manage_redis = decide_manage_redis(config, Supervisor(config))
    check_ready(config, manage_redis=manage_redis)
    for path in render_all(config, manage_redis=manage_redis):
        say(f"rendered {path}")
    return 0


def cmd_compose_config(config: StackConfig) -> int:
    base = json.loads((config.root / "orthanc.json").read_text())
    target = config.root / "docker" / "orthanc" / "orthanc.json"
    text = json.dumps(render.compose_orthanc_config(base), indent=2) + "\n"
    changed = write_if_changed(target, text, mode=0o644)  # a repository file, no secret in it
    say(f"{'wrote' if changed else 'unchanged'} {target}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="render configs, start everything, wait until healthy")
    up.add_argument("--timeout", type=float, default=300.0)
    sub.add_parser("down", help="stop everything `up` started")
    sub.add_parser("status", help="process states and /api/health")
    logs = sub.add_parser("logs", help="tail the logs under var/log")
    logs.add_argument("-f", "--follow", action="store_true")
    logs.add_argument("programs", nargs="*")
    operations.add_parsers(sub)
    sub.add_parser("render", help="only render the configs into var/")
    sub.add_parser("compose-config", help="regenerate docker/orthanc/orthanc.json")
    compose.add_parser(sub)
    for name, text in (("backup", "archive var/'s state into DIR"), ("restore", "from DIR")):
        command = sub.add_parser(name, help=f"{text} (the stack is paused / stopped meanwhile)")
        command.add_argument("folder", type=Path)
    restore_args = sub.choices["restore"]
    restore_args.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    os.umask(0o077)  # whatever the stack writes under var/ is root's alone (stack/var_modes.py)
    try:
        return _run(args)
    except ConfigError as error:
        say(f"refusing to start: {error}")
        return 2


def _run(args: argparse.Namespace) -> int:
    root = Path(__file__).resolve().parent.parent
    if args.command == "compose":
        return compose.cmd_compose(args, var_dir_of(os.environ, root))
    # The first `up` (or `render`) draws the secrets; every later command reads the same file.
    creating = args.command in {"up", "render"}
    environ = secrets_file.environment(os.environ, var_dir_of(os.environ, root), create=creating)
    config = load(environ)
    if args.command in {"down", "status", "logs", "demo", "modality", "backup", "restore"}:
        config = _as_started(config)
    commands: dict[str, Callable[[], int]] = {
        "up": lambda: cmd_up(config, args.timeout),
        "down": lambda: cmd_down(config),
        "status": lambda: cmd_status(config),
        "logs": lambda: cmd_logs(config, args.follow, args.programs),
        "demo": lambda: operations.cmd_demo(config, args),
        "modality": lambda: operations.cmd_modality(config, args),
        "render": lambda: cmd_render(config),
        "compose-config": lambda: cmd_compose_config(config),
        "backup": lambda: _backup(config, args.folder),
        "restore": lambda: _restore(config, args.folder, args.timeout),
    }
    return commands[args.command]()


def _backup(config: StackConfig, folder: Path) -> int:
    backup.backup(config, folder)
    return 0


def _restore(config: StackConfig, folder: Path, timeout: float) -> int:
    backup.restore(config, folder)
    # The restored secrets.env is the one the data was written with: read it before starting.
    environ = secrets_file.environment(os.environ, config.var_dir)
    return cmd_up(_as_started(load(environ)), timeout)


if __name__ == "__main__":
    sys.exit(main())
