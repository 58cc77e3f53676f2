"""Pure: the native stack's settings, read once from the environment into a frozen value.

Every port and path a test or a second stack may need to move is here, so the same code renders
`make up`'s stack on the DESIGN.md ports and a test stack on spare ports in a temporary folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

DEV_ORTHANC_PASSWORD = "orthanc"  # noqa: S105 - dev-only, refused when NEURONOVA_ENV=production
DEV_DJANGO_SECRET = "dev-only-django-secret-do-not-use-in-production"  # noqa: S105
DEV_JWT_KEY = "dev-only-jwt-signing-key-do-not-use-in-production"


class ConfigError(ValueError):
    """The environment asks for something the stack refuses to run with."""


@dataclass(frozen=True)
class StackConfig:
    root: Path
    var_dir: Path
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
    venv: Path
    prometheus_port: int | None  # None: no Prometheus in the native run (NEURONOVA_PROMETHEUS=1)

    @property
    def redis_port(self) -> int:
        return urlsplit(self.redis_url).port or 6379

    @property
    def redis_host(self) -> str:
        return urlsplit(self.redis_url).hostname or "127.0.0.1"

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
        return ports + ([self.prometheus_port] if self.prometheus_port else [])

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
        }


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, str(default))
    try:
        port = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a port number") from exc
    if not 0 < port < 65536:
        raise ConfigError(f"{name}={port} is out of range")
    return port


def load(environ: Mapping[str, str] | None = None, *, root: Path | None = None) -> StackConfig:
    environ = os.environ if environ is None else environ
    root = (root or Path(__file__).resolve().parent.parent).resolve()
    var_dir = Path(environ.get("NEURONOVA_VAR", str(root / "var")))
    if not var_dir.is_absolute():
        var_dir = root / var_dir
    env = environ.get("NEURONOVA_ENV", "dev")
    config = StackConfig(
        root=root,
        var_dir=var_dir,
        env=env,
        http_port=_port(environ, "NEURONOVA_HTTP_PORT", 8080),
        orthanc_http_port=_port(environ, "ORTHANC_HTTP_PORT", 8042),
        orthanc_dicom_port=_port(environ, "ORTHANC_DICOM_PORT", 4242),
        orthanc_aet=environ.get("ORTHANC_AET", "NEURONOVA"),
        orthanc_username=environ.get("ORTHANC_USERNAME", "orthanc"),
        orthanc_password=environ.get("ORTHANC_PASSWORD", DEV_ORTHANC_PASSWORD),
        django_port=_port(environ, "DJANGO_PORT", 8000),
        inference_port=_port(environ, "INFERENCE_PORT", 8500),
        worker_metrics_port=_port(environ, "NEURONOVA_WORKER_METRICS_PORT", 8501),
        redis_url=environ.get("NEURONOVA_REDIS_URL", "redis://127.0.0.1:6379/0"),
        database_url=environ.get("DATABASE_URL", f"sqlite:///{var_dir / 'portal' / 'db.sqlite3'}"),
        django_secret_key=environ.get("DJANGO_SECRET_KEY", DEV_DJANGO_SECRET),
        jwt_signing_key=environ.get("JWT_SIGNING_KEY", DEV_JWT_KEY),
        venv=Path(environ.get("NEURONOVA_VENV", str(root / ".venv"))),
        prometheus_port=(
            _port(environ, "PROMETHEUS_PORT", 9090)
            if environ.get("NEURONOVA_PROMETHEUS", "0") == "1"
            else None
        ),
    )
    check_production(config)
    return config


def check_production(config: StackConfig) -> None:
    """Refuse to run a production stack on the secrets every clone of this repository knows."""
    if config.env != "production":
        return
    dev_values = {
        "ORTHANC_PASSWORD": (config.orthanc_password, DEV_ORTHANC_PASSWORD),
        "DJANGO_SECRET_KEY": (config.django_secret_key, DEV_DJANGO_SECRET),
        "JWT_SIGNING_KEY": (config.jwt_signing_key, DEV_JWT_KEY),
    }
    still_dev = sorted(name for name, (value, dev) in dev_values.items() if value == dev)
    if still_dev:
        raise ConfigError(
            "NEURONOVA_ENV=production refuses the dev-only defaults of: " + ", ".join(still_dev)
        )
