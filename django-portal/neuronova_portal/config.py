"""Pure-ish edge: the portal's configuration, read once from the environment into a frozen value.

Everything the portal needs from its environment is named here, so settings.py, the Celery app
and the adapters take typed values instead of reaching into ``os.environ`` themselves.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import environ  # type: ignore[import-untyped]
from common import security_config
from common.security_config import SecurityConfig

DEV_SECRET_KEY = "dev-only-django-secret-key-not-for-production-use-0000"  # noqa: S105
DEV_JWT_SIGNING_KEY = "dev-only-jwt-signing-key-not-for-production-use-00000"
DEV_ORTHANC_PASSWORD = "orthanc"  # noqa: S105


class ConfigError(RuntimeError):
    """The environment asks for something unsafe or malformed; the portal refuses to start."""


@dataclass(frozen=True, slots=True)
class PortalConfig:
    env: str
    debug: bool
    var_dir: Path
    secret_key: str
    jwt_signing_key: str
    database_url: str
    database_test_name: str
    redis_url: str
    cache_url: str
    cache_key_prefix: str
    orthanc_url: str
    orthanc_username: str
    orthanc_password: str
    inference_url: str
    allowed_hosts: tuple[str, ...]
    access_token_minutes: int
    refresh_token_hours: int
    login_rate: str
    refresh_rate: str
    upload_max_bytes: int
    decision_cache_seconds: float
    metadata_cache_seconds: float  # series metadata kept in the shared cache (0: not cached)
    revocation_recheck_seconds: float
    qido_max_results: (
        int  # rows a clinician's QIDO answers at most (PS3.18 8.3.4.4 Warning past it)
    )
    secure_cookies: bool
    models_dir: Path  # the inference model manifests (label codes and colours for reports)
    health_interval_seconds: float  # how often each process re-probes the dependencies
    security: SecurityConfig

    @property
    def production(self) -> bool:
        return self.env == "production"


def load(environ_map: dict[str, str] | None = None) -> PortalConfig:
    """Read the environment (or ``environ_map``) once; refuse dev secrets in production."""
    source = dict(os.environ if environ_map is None else environ_map)
    env = environ.Env()
    env.ENVIRON = source  # django-environ reads from this mapping

    def get(name: str, default: str) -> str:
        return str(source.get(name, default))

    neuronova_env = get("NEURONOVA_ENV", "dev")
    var_dir = Path(get("NEURONOVA_VAR", "var"))
    redis_url = get("NEURONOVA_REDIS_URL", "redis://127.0.0.1:6379/0")
    default_db = f"sqlite:///{(var_dir / 'portal' / 'db.sqlite3').resolve()}"
    config = PortalConfig(
        env=neuronova_env,
        debug=env.bool("DJANGO_DEBUG", default=False),
        var_dir=var_dir,
        secret_key=get("DJANGO_SECRET_KEY", DEV_SECRET_KEY),
        jwt_signing_key=get("JWT_SIGNING_KEY", DEV_JWT_SIGNING_KEY),
        database_url=get("DATABASE_URL", default_db),
        database_test_name=get("DATABASE_TEST_NAME", ""),
        redis_url=redis_url,
        cache_url=get("PORTAL_CACHE_URL", redis_url.replace("redis://", "rediscache://", 1)),
        cache_key_prefix=get("PORTAL_CACHE_PREFIX", "nn-portal"),
        orthanc_url=get("ORTHANC_URL", "http://127.0.0.1:8042").rstrip("/"),
        orthanc_username=get("ORTHANC_USERNAME", "orthanc"),
        orthanc_password=get("ORTHANC_PASSWORD", DEV_ORTHANC_PASSWORD),
        inference_url=get("INFERENCE_URL", "http://127.0.0.1:8500").rstrip("/"),
        allowed_hosts=tuple(env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])),
        access_token_minutes=env.int("JWT_ACCESS_MINUTES", default=10),
        refresh_token_hours=env.int("JWT_REFRESH_HOURS", default=12),
        login_rate=get("PORTAL_LOGIN_RATE", "10/min"),
        refresh_rate=get("PORTAL_REFRESH_RATE", "600/min"),
        upload_max_bytes=env.int("PORTAL_UPLOAD_MAX_BYTES", default=512 * 1024 * 1024),
        decision_cache_seconds=env.float("PORTAL_DECISION_CACHE_SECONDS", default=5.0),
        metadata_cache_seconds=env.float("PORTAL_METADATA_CACHE_SECONDS", default=6 * 3600.0),
        revocation_recheck_seconds=env.float("PORTAL_REVOCATION_RECHECK_SECONDS", default=1.0),
        qido_max_results=max(1, env.int("PORTAL_QIDO_MAX_RESULTS", default=1000)),
        secure_cookies=env.bool("PORTAL_SECURE_COOKIES", default=neuronova_env == "production"),
        models_dir=_models_dir(get("NEURONOVA_MODELS_DIR", "")),
        health_interval_seconds=env.float("PORTAL_HEALTH_INTERVAL_SECONDS", default=5.0),
        security=_security(get),
    )
    _refuse_unsafe(config)
    return config


def _models_dir(value: str) -> Path:
    # Named explicitly (the stack and the images set it): a path guessed from this file's place
    # would silently name a folder that a deployment does not have.
    if not value:
        raise ConfigError(
            "NEURONOVA_MODELS_DIR must name the models folder (the repository's models/)"
        )
    return Path(value)


def _security(get: Callable[[str, str], str]) -> SecurityConfig:
    try:
        return security_config.load(get)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def _refuse_unsafe(config: PortalConfig) -> None:
    if not config.production:
        return
    unsafe = [
        name
        for name, value, dev in (
            ("DJANGO_SECRET_KEY", config.secret_key, DEV_SECRET_KEY),
            ("JWT_SIGNING_KEY", config.jwt_signing_key, DEV_JWT_SIGNING_KEY),
            ("ORTHANC_PASSWORD", config.orthanc_password, DEV_ORTHANC_PASSWORD),
        )
        if value == dev or (len(value) < 32 and name != "ORTHANC_PASSWORD")
    ]
    if config.debug:
        unsafe.append("DJANGO_DEBUG")
    if unsafe:
        raise ConfigError(f"NEURONOVA_ENV=production refuses dev or weak values for: {unsafe}")
