"""Unit tests of the portal's configuration: defaults, parsing, and production refusals."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from neuronova_portal import config

from tests.support.models import MODELS_DIR

MODELS = {"NEURONOVA_MODELS_DIR": str(MODELS_DIR)}
STRONG = {
    **MODELS,
    "NEURONOVA_ENV": "production",
    "DJANGO_SECRET_KEY": "s" * 50,
    "JWT_SIGNING_KEY": "j" * 50,
    "ORTHANC_PASSWORD": "a-real-password",
}


def test_dev_defaults() -> None:
    loaded = config.load({**MODELS, "NEURONOVA_VAR": "/srv/nn"})
    assert loaded.env == "dev"
    assert loaded.database_url == "sqlite:////srv/nn/portal/db.sqlite3"
    assert loaded.redis_url == "redis://127.0.0.1:6379/0"
    assert loaded.cache_url == "rediscache://127.0.0.1:6379/0"
    assert loaded.orthanc_url == "http://127.0.0.1:8042"
    assert loaded.access_token_minutes == 10
    assert not loaded.secure_cookies
    assert loaded.models_dir == MODELS_DIR


def test_the_models_folder_is_named_never_guessed() -> None:
    with pytest.raises(config.ConfigError, match="NEURONOVA_MODELS_DIR"):
        config.load({"NEURONOVA_VAR": "/srv/nn"})


def test_values_are_parsed_into_types() -> None:
    loaded = config.load(
        {
            **STRONG,
            "DJANGO_ALLOWED_HOSTS": "pacs.example.org,localhost",
            "JWT_ACCESS_MINUTES": "5",
            "PORTAL_DECISION_CACHE_SECONDS": "2.5",
            "ORTHANC_URL": "http://orthanc:8042/",
        }
    )
    assert loaded.allowed_hosts == ("pacs.example.org", "localhost")
    assert loaded.access_token_minutes == 5
    assert loaded.decision_cache_seconds == 2.5
    assert loaded.orthanc_url == "http://orthanc:8042"
    assert loaded.secure_cookies  # production default


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DJANGO_SECRET_KEY", config.DEV_SECRET_KEY),
        ("JWT_SIGNING_KEY", config.DEV_JWT_SIGNING_KEY),
        ("JWT_SIGNING_KEY", "short"),
        ("ORTHANC_PASSWORD", "orthanc"),
        ("DJANGO_DEBUG", "true"),
    ],
)
def test_production_refuses_dev_or_weak_values(name: str, value: str) -> None:
    assert config.load(STRONG).production
    with pytest.raises(config.ConfigError, match=name):
        config.load({**STRONG, name: value})


def test_production_with_nothing_set_refuses() -> None:
    with pytest.raises(config.ConfigError):
        config.load({**MODELS, "NEURONOVA_ENV": "production"})


def test_seed_dev_users_refuses_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.conf import settings  # noqa: PLC0415

    monkeypatch.setattr(settings, "CONFIG", config.load(STRONG))
    with pytest.raises(CommandError, match="production"):
        call_command("seed_dev_users")
