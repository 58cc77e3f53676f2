"""Pure: every file the native stack runs on, rendered from StackConfig (text in, text out)."""

from __future__ import annotations

import base64
import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stack import orthanc_cluster, orthanc_root
from stack.config import StackConfig

DJANGO_SETTINGS = "neuronova_portal.settings"
# nginx's unprivileged workers: the only non-root identity that may enter var/ (stack/var_modes.py).
NGINX_USER, NGINX_GROUP = "nobody", "nogroup"
_NN_NAME = re.compile(r"\$\{(NN_[A-Z_]+)\}")


@dataclass(frozen=True)
class Program:
    """One supervisord program. `priority`: lower starts first and stops last."""

    name: str
    command: str
    directory: str
    priority: int
    environment: Mapping[str, str] = field(default_factory=dict)
    stopwaitsecs: int = 20


def substitute(template: str, values: Mapping[str, str]) -> str:
    """Replace ${NN_*} names as the nginx image's envsubst would; nginx's own $vars stay.

    An NN_ name without a value is an error, not an empty string: a silently blank upstream or
    root would make nginx serve the wrong thing.
    """

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"template needs {name}, which the stack does not define")
        return values[name]

    return _NN_NAME.sub(value, template)


def nginx_values(config: StackConfig) -> dict[str, str]:
    credentials = f"{config.orthanc_username}:{config.orthanc_password}".encode()
    var = str(config.var_dir)
    return {
        "NN_HTTP_PORT": str(config.http_port),
        "NN_DJANGO_UPSTREAM": f"127.0.0.1:{config.django_port}",
        # X-Accel reads straight from the replicas (one line per replica when there are several).
        "NN_ORTHANC_UPSTREAM": orthanc_cluster.x_accel_servers(config.orthanc_replicas),
        "NN_ORTHANC_AUTH": base64.b64encode(credentials).decode(),
        "NN_ACCESS_LOG": f"{var}/log/nginx-access.log",
        "NN_SNIPPETS": str(config.root / "nginx" / "snippets"),
        "NN_WWW": f"{var}/nginx/www",
        "NN_UPLOAD_MAX": "2g",
        "NN_VAR": var,
        "NN_STATIC": f"{var}/portal/static",  # the portal's STATIC_ROOT under NEURONOVA_VAR
        # nginx started by root drops its workers to an unprivileged user.
        "NN_USER_DIRECTIVE": f"user {NGINX_USER} {NGINX_GROUP};",
    }


def orthanc_config(
    base: Mapping[str, Any],
    config: StackConfig,
    *,
    codec: Path | None,
    modalities: Mapping[str, Mapping[str, Any]] | None = None,
    replica: orthanc_cluster.Replica | None = None,
) -> dict[str, Any]:
    """The repository's orthanc.json with only the run-specific keys replaced.

    ``codec``: the native HTJ2K codec plugin when bootstrap has built it. ``modalities``: the
    registered ones (var/modalities.json), the only AEs that may store. ``replica``: which of
    ``config.orthanc_replicas`` (default the first).
    """
    rendered: dict[str, Any] = json.loads(json.dumps(base))  # deep copy, JSON types only
    orthanc_var = config.var_dir / "orthanc"
    members = config.orthanc_replicas
    replica = replica or members[0]
    postgres = config.orthanc_postgres
    rendered.update(
        {
            "HttpPort": replica.http_port,
            "DicomPort": replica.dicom_port,
            "DicomAet": config.orthanc_aet,
            "StorageDirectory": str(orthanc_var / "storage"),
            "IndexDirectory": str(orthanc_var / "index"),
            "PythonScript": str(config.root / "orthanc-plugins" / "entry.py"),
            "RegisteredUsers": {config.orthanc_username: config.orthanc_password},
            "Plugins": orthanc_root.plugin_list(
                python=True,
                dicomweb=True,
                codec=codec,
                postgres_index=postgres is not None,
                postgres_storage=postgres is not None and postgres.storage,
            ),
            "DicomModalities": orthanc_cluster.replica_modalities(
                modalities or {}, count=len(members)
            ),
        }
    )
    if postgres is not None:
        rendered["PostgreSQL"] = postgres.orthanc_section(replicas=len(members))
    neuronova = dict(rendered.get("NeuroNova", {}))
    neuronova.update(
        {
            "RedisUrl": config.redis_url,
            "TaskKey": config.task_key,
            "VarDirectory": str(config.var_dir),
            "ModelsDirectory": str(config.models_dir),
            # supervisord writes Orthanc's output here; the plugin counts refused associations.
            "OrthancLogFile": str(config.log_dir / f"{replica.name}.log"),
        }
    )
    if len(members) > 1 and replica == members[0]:
        # One replica counts the entry's refusals: each is then counted once.
        neuronova["DicomEntryLogFile"] = str(config.log_dir / orthanc_cluster.ENTRY_LOG)
    rendered["NeuroNova"] = neuronova
    return rendered


# The compose run's Orthanc image (docker/orthanc.Dockerfile): where it puts our two plugins.
COMPOSE_CODEC_PLUGIN = Path("/usr/local/lib/neuronova/libNeuroNovaHtj2k.so")
COMPOSE_PLUGIN_DIR = "/neuronova/orthanc-plugins"
# Orthanc's index on the compose file's PostgreSQL (docker/postgres/entrypoint.sh makes the role).
COMPOSE_POSTGRES = orthanc_cluster.PostgresIndex(
    host="postgres",
    port=5432,
    database="neuronova_orthanc",
    user="neuronova_orthanc",
    password="${ORTHANC_DB_PASSWORD}",  # noqa: S106 - Orthanc substitutes the container's env
    storage=False,
)


def compose_orthanc_config(base: Mapping[str, Any]) -> dict[str, Any]:
    """docker/orthanc/orthanc.json: the same orthanc.json with the compose run's differences.

    Same plugins as the native run (the image is the native run's root), the index on the compose
    PostgreSQL, paths and Redis the containers'. Secrets are ``${NAME}``: Orthanc replaces them
    with the container's environment when it reads the file, so the image holds none. Modalities
    live in the index (``DicomModalitiesInDatabase``): registered through the REST API
    (`python -m stack compose modality add`), they survive restarts and are in every backup.
    """
    rendered: dict[str, Any] = json.loads(json.dumps(base))
    rendered.update(
        {
            "StorageDirectory": "/var/lib/orthanc/db",
            "IndexDirectory": "/var/lib/orthanc/db",
            "PythonScript": f"{COMPOSE_PLUGIN_DIR}/entry.py",
            # Orthanc listens on the compose networks, which only nginx and the services share.
            "RemoteAccessAllowed": True,
            "RegisteredUsers": {"orthanc": "${ORTHANC_PASSWORD}"},
            "Plugins": orthanc_root.plugin_list(
                python=True, dicomweb=True, codec=COMPOSE_CODEC_PLUGIN, postgres_index=True
            ),
            "PostgreSQL": COMPOSE_POSTGRES.orthanc_section(replicas=1),
            "DicomModalities": {},
            "DicomModalitiesInDatabase": True,
        }
    )
    rendered["NeuroNova"] = {
        **rendered.get("NeuroNova", {}),
        "RedisUrl": "redis://:${REDIS_PASSWORD}@redis:6379/0",
        "TaskKey": "${NEURONOVA_TASK_KEY}",
        "VarDirectory": "/var/lib/orthanc/neuronova",
        "ModelsDirectory": "/neuronova/models",
    }
    return rendered


def manage_environment(config: StackConfig) -> dict[str, str]:
    """What `manage.py` commands run with: the portal processes' environment, nothing inherited."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        **config.service_environment(),
        "PYTHONPATH": python_path(config, "django-portal"),
        "DJANGO_SETTINGS_MODULE": DJANGO_SETTINGS,
    }


def redis_conf(config: StackConfig) -> str:
    """The stack's own Redis: loopback only, the generated password, queued jobs persisted."""
    if not config.redis_password:
        raise ValueError("the stack's own Redis needs a password (REDIS_PASSWORD)")
    return "\n".join(
        [
            "# Rendered by `python -m stack`; the password comes from var/secrets.env.",
            "bind 127.0.0.1",
            f"port {config.redis_port}",
            "protected-mode yes",
            f"requirepass {config.redis_password}",
            f"dir {config.var_dir / 'redis'}",
            "appendonly yes",
            'save ""',
            "",
        ]
    )


def python_path(config: StackConfig, folder: str) -> str:
    """A deployable's folder and the contracts shared by the plugin, inference and the portal."""
    return f"{config.root / folder}:{config.root / 'contracts'}"


def site_packages(config: StackConfig) -> str:
    return str(config.venv / "lib" / "python3.11" / "site-packages")


def programs(config: StackConfig, *, manage_redis: bool) -> list[Program]:
    root = str(config.root)
    var = config.var_dir
    bin_ = config.venv / "bin"
    base_env = config.service_environment()

    def env(folder: str) -> dict[str, str]:
        return {**base_env, "PYTHONPATH": python_path(config, folder)}

    # Only the portal's processes get Django settings: Celery's Django fix-up would otherwise
    # try to set Django up inside the inference worker.
    portal_env = {**env("django-portal"), "DJANGO_SETTINGS_MODULE": DJANGO_SETTINGS}
    metrics_dir = var / "run" / "django-metrics"

    result = [
        Program(
            name=replica.name,
            # Orthanc 1.13 in the sid root, var/ bound writable, the repository read-only; the
            # plugin finds its packages in the root's venv (entry.py).
            command=shlex.join(
                orthanc_root.orthanc_command(
                    replica.config_path,
                    bind=[var],
                    ro_bind=[] if config.models_dir.is_relative_to(root) else [config.models_dir],
                )
            ),
            directory=str(var / "orthanc"),
            priority=20,
            environment=base_env,
            stopwaitsecs=30,
        )
        for replica in config.orthanc_replicas
    ]
    result += [
        Program(
            name="inference",
            command=(
                f"{bin_}/uvicorn neuronova_inference.api:app --host 127.0.0.1 "
                f"--port {config.inference_port} --no-access-log"
            ),
            directory=root,
            priority=30,
            environment=env("inference"),
        ),
        Program(
            name="inference-worker",
            # One ONNX Runtime session per process: a single process, one task at a time.
            command=(
                f"{bin_}/celery -A neuronova_inference.worker worker -Q inference "
                "-n inference@%%h --concurrency 1 --prefetch-multiplier 1 --loglevel INFO"
            ),
            directory=root,
            priority=50,
            environment=env("inference"),
            stopwaitsecs=60,
        ),
        Program(
            name="django",
            # prometheus-client's multiprocess mode: each gunicorn worker writes its counters to
            # PROMETHEUS_MULTIPROC_DIR, emptied at every start so dead workers' files don't count.
            command=(
                f"/bin/sh -c 'rm -rf {metrics_dir} && mkdir -p {metrics_dir} && exec "
                f"{bin_}/gunicorn neuronova_portal.wsgi -b 127.0.0.1:{config.django_port} "
                "--worker-class gthread --workers 2 --threads 8 --keep-alive 75 --access-logfile -'"
            ),
            directory=root,
            priority=40,
            environment={**portal_env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
        ),
        Program(
            name="portal-worker",
            command=(
                f"{bin_}/celery -A neuronova_portal.celery:app worker -Q portal "
                "-n portal@%%h --concurrency 2 --loglevel INFO "
                # Embedded beat: periodic FHIR re-sync (neuronova_portal/celery.py).
                f"-B --schedule {var}/run/portal-beat-schedule"
            ),
            directory=root,
            priority=50,
            environment=portal_env,
        ),
        Program(
            name="nginx",
            command=(
                f"/usr/sbin/nginx -c {var}/nginx/nginx.conf -e {var}/log/nginx-error.log "
                '-g "daemon off;"'
            ),
            directory=str(var / "nginx"),
            priority=60,
        ),
    ]
    if config.prometheus_port is not None:
        result.append(
            Program(
                name="prometheus",
                command=(
                    f"/usr/bin/prometheus --config.file={var}/prometheus/prometheus.yml "
                    f"--storage.tsdb.path={var}/prometheus/data "
                    f"--web.listen-address=127.0.0.1:{config.prometheus_port}"
                ),
                directory=str(var / "prometheus"),
                priority=70,
            )
        )
    if manage_redis:
        result.append(
            Program(
                name="redis",
                # The broker holds queued jobs (append-only file in var/redis); the password is
                # in the config file, not on a command line every local user can read.
                command=f"/usr/bin/redis-server {var}/redis/redis.conf",
                directory=str(var / "redis"),
                priority=10,
            )
        )
    return sorted(result, key=lambda program: (program.priority, program.name))


def _env_line(environment: Mapping[str, str]) -> str:
    def quote(value: str) -> str:
        return '"' + value.replace("%", "%%").replace('"', '\\"') + '"'

    return ",".join(f"{key}={quote(value)}" for key, value in sorted(environment.items()))


def supervisord_conf(config: StackConfig, all_programs: Sequence[Program]) -> str:
    log = config.log_dir
    lines = [
        "; Rendered by `python -m stack render`; edit stack/render.py, not this file.",
        "[unix_http_server]",
        f"file={config.supervisor_socket}",
        "chmod=0700",
        "",
        "[supervisord]",
        f"logfile={log}/supervisord.log",
        # Everything the programs write (Orthanc storage, databases, logs) is private to root.
        "umask=077",
        f"pidfile={config.var_dir}/run/supervisord.pid",
        f"childlogdir={log}",
        "logfile_maxbytes=10MB",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{config.supervisor_socket}",
    ]
    for program in all_programs:
        lines += [
            "",
            f"[program:{program.name}]",
            f"command={program.command}",
            f"directory={program.directory}",
            f"priority={program.priority}",
            "autostart=true",
            "autorestart=true",
            "startsecs=2",
            "stopasgroup=true",
            "killasgroup=true",
            f"stopwaitsecs={program.stopwaitsecs}",
            "redirect_stderr=true",
            f"stdout_logfile={log}/{program.name}.log",
            "stdout_logfile_maxbytes=20MB",
            "stdout_logfile_backups=3",
        ]
        if program.environment:
            lines.append(f"environment={_env_line(program.environment)}")
    return "\n".join(lines) + "\n"
