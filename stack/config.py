"""Pure: the native stack's settings, read once from the environment into a frozen value.

Every port and path a test or a second stack may need to move is here, so the same code renders
`make up`'s stack on the DESIGN.md ports and a test stack on spare ports in a temporary folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from stack.orthanc_cluster import PostgresIndex, Replica, replicas

# Every fixed secret this repository has ever shipped (the stack's and the portal's former dev
# defaults, the .env.example placeholders). nginx and the DICOM port listen on every interface,
# so the stack refuses these in any NEURONOVA_ENV; the first `make up` generates real ones
# (stack/secrets_file.py).
PUBLISHED_SECRETS: dict[str, frozenset[str]] = {
    "ORTHANC_PASSWORD": frozenset({"orthanc", "change-me-orthanc"}),
    "DJANGO_SECRET_KEY": frozenset(
        {
            "dev-only-django-secret-do-not-use-in-production",
            "dev-only-django-secret-key-not-for-production-use-0000",
            "change-me-django",
        }
    ),
    "JWT_SIGNING_KEY": frozenset(
        {
            "dev-only-jwt-signing-key-do-not-use-in-production",
            "dev-only-jwt-signing-key-not-for-production-use-00000",
            "change-me-jwt",
        }
    ),
    "REDIS_PASSWORD": frozenset({"change-me-redis"}),
    "INFERENCE_API_TOKEN": frozenset({"change-me-inference"}),
}
# The stack runs its own password-protected Redis here unless NEURONOVA_REDIS_URL says otherwise:
# not 6379, where many machines already run a Redis without a password.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6390/0"


class ConfigError(ValueError):
    """The environment asks for something the stack refuses to run with."""


@dataclass(frozen=True)
class StackConfig:
    root: Path
    var_dir: Path
    models_dir: Path  # manifest + ONNX per model id: the plugin, inference and the portal read it
    env: str
    http_port: int
    orthanc_http_port: int
    orthanc_dicom_port: int
    orthanc_aet: str
    orthanc_username: str
    orthanc_password: str
    django_port: int
    inference_port: int
    worker_metrics_port: int
    redis_url: str
    database_url: str
    django_secret_key: str
    jwt_signing_key: str
    inference_api_token: str
    task_key: str  # signs and checks every Celery message (NEURONOVA_TASK_KEY)
    venv: Path
    prometheus_port: int | None  # None: no Prometheus in the native run (NEURONOVA_PROMETHEUS=1)
    # Orthanc's index: None = SQLite under var/orthanc/index (NEURONOVA_ORTHANC_DB=sqlite), else
    # PostgreSQL (=postgresql), which N > 1 replicas need (NEURONOVA_ORTHANC_REPLICAS).
    orthanc_postgres: PostgresIndex | None = None
    orthanc_replica_count: int = 1
    # libpq conninfo of an administrator that creates the index's role and database ("": they
    # exist already, made by a DBA).
    orthanc_postgres_admin: str = ""
    orthanc_replica_http_ports: tuple[int, ...] = ()
    orthanc_replica_dicom_ports: tuple[int, ...] = ()

    @property
    def redis_port(self) -> int:
        return urlsplit(self.redis_url).port or 6379

    @property
    def redis_host(self) -> str:
        return urlsplit(self.redis_url).hostname or "127.0.0.1"

    @property
    def redis_password(self) -> str:
        return urlsplit(self.redis_url).password or ""

    @property
    def redis_url_shown(self) -> str:
        """The broker URL without its password, for messages."""
        parts = urlsplit(self.redis_url)
        return urlunsplit(parts._replace(netloc=f"{self.redis_host}:{self.redis_port}"))

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def orthanc_url(self) -> str:
        return f"http://127.0.0.1:{self.orthanc_http_port}"

    @property
    def inference_url(self) -> str:
        return f"http://127.0.0.1:{self.inference_port}"

    @property
    def ports(self) -> list[int]:
        """Every port a started stack listens on (Redis only when the stack runs its own)."""
        ports = [
            self.http_port,
            self.orthanc_http_port,
            self.orthanc_dicom_port,
            self.django_port,
            self.inference_port,
            self.worker_metrics_port,
        ]
        if self.orthanc_replica_count > 1:
            ports += [p for r in self.orthanc_replicas for p in (r.http_port, r.dicom_port)]
        return ports + ([self.prometheus_port] if self.prometheus_port else [])

    @property
    def orthanc_replicas(self) -> list[Replica]:
        return replicas(
            self.var_dir,
            count=self.orthanc_replica_count,
            http_port=self.orthanc_http_port,
            dicom_port=self.orthanc_dicom_port,
            http_ports=self.orthanc_replica_http_ports,
            dicom_ports=self.orthanc_replica_dicom_ports,
        )

    @property
    def supervisor_socket(self) -> Path:
        return self.var_dir / "run" / "supervisor.sock"

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "log"

    def service_environment(self) -> dict[str, str]:
        """What every NeuroNova process gets: the names in docs/ARCHITECTURE.md."""
        return {
            "NEURONOVA_ENV": self.env,
            "NEURONOVA_VAR": str(self.var_dir),
            "NEURONOVA_MODELS_DIR": str(self.models_dir),
            "NEURONOVA_REDIS_URL": self.redis_url,
            "ORTHANC_URL": self.orthanc_url,
            "ORTHANC_USERNAME": self.orthanc_username,
            "ORTHANC_PASSWORD": self.orthanc_password,
            "ORTHANC_DICOM_PORT": str(self.orthanc_dicom_port),
            "ORTHANC_AET": self.orthanc_aet,
            "INFERENCE_URL": self.inference_url,
            "INFERENCE_PORT": str(self.inference_port),
            "NEURONOVA_WORKER_METRICS_PORT": str(self.worker_metrics_port),
            "DJANGO_PORT": str(self.django_port),
            "NEURONOVA_HTTP_PORT": str(self.http_port),
            "DATABASE_URL": self.database_url,
            "DJANGO_SECRET_KEY": self.django_secret_key,
            "JWT_SIGNING_KEY": self.jwt_signing_key,
            "INFERENCE_API_TOKEN": self.inference_api_token,
            "NEURONOVA_TASK_KEY": self.task_key,
        }

    def secrets(self) -> dict[str, str]:
        return {
            "ORTHANC_PASSWORD": self.orthanc_password,
            "DJANGO_SECRET_KEY": self.django_secret_key,
            "JWT_SIGNING_KEY": self.jwt_signing_key,
            "REDIS_PASSWORD": self.redis_password,
            "INFERENCE_API_TOKEN": self.inference_api_token,
            "NEURONOVA_TASK_KEY": self.task_key,
            **(
                {"ORTHANC_DB_PASSWORD": self.orthanc_postgres.password}
                if self.orthanc_postgres
                else {}
            ),
        }


def _ports(environ: Mapping[str, str], name: str, count: int) -> tuple[int, ...]:
    raw = [p for p in environ.get(name, "").split(",") if p.strip()]
    if raw and len(raw) != count:
        raise ConfigError(f"{name} names {len(raw)} ports for {count} replicas")
    return tuple(_port({name: p.strip()}, name, 0) for p in raw)


@dataclass(frozen=True)
class _Topology:
    postgres: PostgresIndex | None
    count: int
    admin: str
    http_ports: tuple[int, ...]
    dicom_ports: tuple[int, ...]


def _orthanc_topology(environ: Mapping[str, str]) -> _Topology:
    """NEURONOVA_ORTHANC_DB / _REPLICAS and the PostgreSQL index's settings."""
    kind = environ.get("NEURONOVA_ORTHANC_DB", "sqlite")
    if kind not in {"sqlite", "postgresql"}:
        raise ConfigError(f"NEURONOVA_ORTHANC_DB={kind!r}: use sqlite or postgresql")
    count = int(environ.get("NEURONOVA_ORTHANC_REPLICAS", "1"))
    if count < 1 or (count > 1 and kind != "postgresql"):
        raise ConfigError(
            f"NEURONOVA_ORTHANC_REPLICAS={count} needs NEURONOVA_ORTHANC_DB=postgresql "
            "(replicas share one index; SQLite belongs to one process)"
        )
    index = None
    if kind == "postgresql":
        index = PostgresIndex(
            host=environ.get("NEURONOVA_ORTHANC_PG_HOST", "127.0.0.1"),
            port=_port(environ, "NEURONOVA_ORTHANC_PG_PORT", 5432),
            database=environ.get("NEURONOVA_ORTHANC_PG_DATABASE", "neuronova_orthanc"),
            user=environ.get("NEURONOVA_ORTHANC_PG_USER", "neuronova_orthanc"),
            password=environ.get("ORTHANC_DB_PASSWORD", ""),
            storage=environ.get("NEURONOVA_ORTHANC_PG_STORAGE", "0") == "1",
        )
    return _Topology(
        postgres=index,
        count=count,
        admin=environ.get(
            "NEURONOVA_ORTHANC_PG_ADMIN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
        ),
        http_ports=_ports(environ, "ORTHANC_REPLICA_HTTP_PORTS", count),
        dicom_ports=_ports(environ, "ORTHANC_REPLICA_DICOM_PORTS", count),
    )


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, str(default))
    try:
        port = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a port number") from exc
    if not 0 < port < 65536:
        raise ConfigError(f"{name}={port} is out of range")
    return port


def var_dir_of(environ: Mapping[str, str], root: Path) -> Path:
    var_dir = Path(environ.get("NEURONOVA_VAR", str(root / "var")))
    return var_dir if var_dir.is_absolute() else root / var_dir


def _redis_url(environ: Mapping[str, str]) -> str:
    """NEURONOVA_REDIS_URL, with REDIS_PASSWORD put in when the URL names none of its own."""
    url = environ.get("NEURONOVA_REDIS_URL", DEFAULT_REDIS_URL)
    parts = urlsplit(url)
    password = environ.get("REDIS_PASSWORD", "")
    if parts.password or not password:
        return url
    return urlunsplit(parts._replace(netloc=f":{password}@{parts.netloc.rpartition('@')[2]}"))


def load(environ: Mapping[str, str] | None = None, *, root: Path | None = None) -> StackConfig:
    """The stack's settings; secrets come from the environment (cli.py fills in var/secrets.env)."""
    environ = os.environ if environ is None else environ
    root = (root or Path(__file__).resolve().parent.parent).resolve()
    var_dir = var_dir_of(environ, root)
    env = environ.get("NEURONOVA_ENV", "dev")
    topology = _orthanc_topology(environ)
    config = StackConfig(
        root=root,
        var_dir=var_dir,
        models_dir=Path(environ.get("NEURONOVA_MODELS_DIR", str(root / "models"))),
        env=env,
        http_port=_port(environ, "NEURONOVA_HTTP_PORT", 8080),
        orthanc_http_port=_port(environ, "ORTHANC_HTTP_PORT", 8042),
        orthanc_dicom_port=_port(environ, "ORTHANC_DICOM_PORT", 4242),
        orthanc_aet=environ.get("ORTHANC_AET", "NEURONOVA"),
        orthanc_username=environ.get("ORTHANC_USERNAME", "orthanc"),
        orthanc_password=environ.get("ORTHANC_PASSWORD", ""),
        django_port=_port(environ, "DJANGO_PORT", 8000),
        inference_port=_port(environ, "INFERENCE_PORT", 8500),
        worker_metrics_port=_port(environ, "NEURONOVA_WORKER_METRICS_PORT", 8501),
        redis_url=_redis_url(environ),
        database_url=environ.get("DATABASE_URL", f"sqlite:///{var_dir / 'portal' / 'db.sqlite3'}"),
        django_secret_key=environ.get("DJANGO_SECRET_KEY", ""),
        jwt_signing_key=environ.get("JWT_SIGNING_KEY", ""),
        inference_api_token=environ.get("INFERENCE_API_TOKEN", ""),
        task_key=environ.get("NEURONOVA_TASK_KEY", ""),
        venv=Path(environ.get("NEURONOVA_VENV", str(root / ".venv"))),
        prometheus_port=(
            _port(environ, "PROMETHEUS_PORT", 9090)
            if environ.get("NEURONOVA_PROMETHEUS", "0") == "1"
            else None
        ),
        orthanc_postgres=topology.postgres,
        orthanc_replica_count=topology.count,
        orthanc_postgres_admin=topology.admin,
        orthanc_replica_http_ports=topology.http_ports,
        orthanc_replica_dicom_ports=topology.dicom_ports,
    )
    check_secrets(config)
    return config


def check_secrets(config: StackConfig) -> None:
    """Refuse a secret anyone can read in this repository, in any NEURONOVA_ENV."""
    published = sorted(
        name
        for name, value in config.secrets().items()
        if value in PUBLISHED_SECRETS.get(name, frozenset())
    )
    if published:
        raise ConfigError(
            "refusing secrets published in the repository for: "
            + ", ".join(published)
            + " (nginx and the DICOM port listen beyond loopback; unset them and `make up` "
            "uses the random ones it keeps in var/secrets.env)"
        )


def missing_secrets(config: StackConfig) -> list[str]:
    return sorted(name for name, value in config.secrets().items() if not value)
