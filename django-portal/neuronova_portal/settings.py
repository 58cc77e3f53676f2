"""Wiring: Django settings, derived from the frozen PortalConfig read once at start-up."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import django_stubs_ext
import environ  # type: ignore[import-untyped]
import pymysql
from common import redis_cache as portal_cache

from neuronova_portal import config as portal_config

django_stubs_ext.monkeypatch()
CONFIG = portal_config.load()

SECRET_KEY = CONFIG.secret_key
DEBUG = CONFIG.debug
ALLOWED_HOSTS = list(CONFIG.allowed_hosts)
USE_X_FORWARDED_HOST = False

INSTALLED_APPS = [
    "neuronova_portal.apps.PortalAdminConfig",  # django.contrib.admin with the portal's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "common",
    "authz",
    "accounts",
    "clinical",
    "audit",
    "pacs",
    "health",
    "fhir_sync",
]

MIDDLEWARE = [
    # First: image requests (most of the traffic) skip everything below (pacs/middleware.py).
    "pacs.middleware.ImageGatewayMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "neuronova_portal.admin_guard.AdminGuardMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "neuronova_portal.urls"
WSGI_APPLICATION = "neuronova_portal.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


def _database(url: str) -> dict[str, Any]:
    db: dict[str, Any] = dict(environ.Env.db_url_config(url))
    if db["ENGINE"] == "django.db.backends.mysql":
        pymysql.install_as_MySQLdb()
        db.setdefault("OPTIONS", {}).update({"charset": "utf8mb4"})
        db["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
        if CONFIG.database_test_name:  # parallel test runs must not share a test database
            db["TEST"]["NAME"] = CONFIG.database_test_name
    elif db["ENGINE"] == "django.db.backends.sqlite3":
        name = str(db["NAME"])
        if name and name != ":memory:":
            Path(name).parent.mkdir(parents=True, exist_ok=True)
        # Several writers (gunicorn threads, the portal worker): WAL lets readers go on during a
        # write, and IMMEDIATE transactions take the write lock up front, so a read transaction
        # never fails with "database is locked" when it later tries to write.
        db.setdefault("OPTIONS", {}).update(
            {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
            }
        )
    return db


DATABASES = {"default": _database(CONFIG.database_url)}

_cache: dict[str, Any] = dict(environ.Env.cache_url_config(CONFIG.cache_url))
_cache["KEY_PREFIX"] = CONFIG.cache_key_prefix
if _cache["BACKEND"] == portal_cache.DJANGO_BACKEND:  # same backend, one client per pool
    _cache["BACKEND"] = portal_cache.BACKEND
CACHES = {"default": _cache}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/api/static/"
STATIC_ROOT = str(CONFIG.var_dir / "portal" / "static")

# Browser sessions carry the JWT in HttpOnly cookies; the CSRF cookie must stay readable by the SPA.
CSRF_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_SECURE = CONFIG.secure_cookies
SESSION_COOKIE_SECURE = CONFIG.secure_cookies
SESSION_COOKIE_SAMESITE = "Strict"
# Behind Cloudflare the browser's origin is https:// while nginx and Django see http://: both
# schemes of each allowed host are trusted origins (a cross-site POST still fails the check).
CSRF_TRUSTED_ORIGINS = [
    f"{scheme}://{h}" for h in ALLOWED_HOSTS if h and h != "*" for scheme in ("http", "https")
]
# nginx adds the security headers (X-Frame-Options, nosniff, Referrer-Policy, COOP) to every
# answer; Django adding them too would send each twice, with conflicting Referrer-Policy values.
SECURE_CONTENT_TYPE_NOSNIFF = False
SECURE_REFERRER_POLICY = None
SECURE_CROSS_ORIGIN_OPENER_POLICY = None

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Uploaded files always go to disk (never held in memory), under var/ rather than /tmp (often a
# tmpfs, i.e. memory); the request's files together stop at PORTAL_UPLOAD_MAX_BYTES.
FILE_UPLOAD_HANDLERS = ["pacs.upload_handlers.CappedTemporaryFileUploadHandler"]
FILE_UPLOAD_TEMP_DIR = str(CONFIG.var_dir / "portal" / "upload-tmp")
Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.CookieOrHeaderJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_RATES": {"login": CONFIG.login_rate, "refresh": CONFIG.refresh_rate},
    "UNAUTHENTICATED_USER": None,
}

SIMPLE_JWT = {
    "ALGORITHM": "HS256",
    "SIGNING_KEY": CONFIG.jwt_signing_key,
    "AUDIENCE": "neuronova-portal",
    "ISSUER": "neuronova",
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=CONFIG.access_token_minutes),
    "REFRESH_TOKEN_LIFETIME": timedelta(hours=CONFIG.refresh_token_hours),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "LEEWAY": 0,
    # Tokens carry a digest of the password hash they were issued under: a password change ends
    # every earlier access and refresh token (accounts.verifier, accounts.tokens.rotate).
    "CHECK_REVOKE_TOKEN": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "NeuroNova portal API",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema maps every route and parameter: for signed-in users only.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Two choice sets answer to "state": a job's and a review's.
    "ENUM_NAME_OVERRIDES": {
        "JobStateEnum": "clinical.models.JobState",
        "ReviewStateEnum": "clinical.review.STATES",
    },
}

CELERY_BROKER_URL = CONFIG.redis_url

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}
