"""The plugin's NeuroNova section: defaults, overrides, foreign keys ignored, bad types refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from neuronova_plugin.config import (
    CONFIG_KEYS,
    AiConfig,
    ConfigError,
    PluginConfig,
    plugin_config,
)


def test_defaults_without_section() -> None:
    assert plugin_config({}) == PluginConfig()
    assert PluginConfig().transcode
    assert PluginConfig().verify_transcode


def test_overrides_and_foreign_keys() -> None:
    config = plugin_config(
        {"NeuroNova": {"Transcode": False, "VerifyTranscode": "false", "RedisUrl": "redis://x"}}
    )
    assert not config.transcode
    assert not config.verify_transcode
    assert config.enabled


def test_repository_config_is_valid() -> None:
    config = json.loads((Path(__file__).parents[3] / "orthanc.json").read_text())
    # The shipped file states the defaults; Orthanc's own StableAge is the shipped one.
    defaults = PluginConfig(ai=AiConfig(stable_age_s=float(config["StableAge"])))
    assert plugin_config(config) == defaults
    assert set(CONFIG_KEYS) <= set(config["NeuroNova"])  # ...and names every plugin key


@pytest.mark.parametrize("value", [1, "yes", None])
def test_rejects_non_boolean(value: object) -> None:
    with pytest.raises(ConfigError, match="Transcode"):
        plugin_config({"NeuroNova": {"Transcode": value}})


def test_config_is_frozen() -> None:
    with pytest.raises(AttributeError):
        PluginConfig().transcode = False  # type: ignore[misc]


def test_ai_keys_and_orthancs_stable_age() -> None:
    config = plugin_config(
        {
            "StableAge": 5,
            "NeuroNova": {
                "Ai": "false",
                "RedisUrl": "redis://r:1/0",
                "VarDirectory": "/v",
                "ModelsDirectory": "/m",
                "AiModel": "other",
                "AiPollSeconds": "0.5",
            },
        }
    ).ai
    assert not config.enabled  # the string "false" is false, as for every other switch
    assert (config.redis_url, config.model_id) == ("redis://r:1/0", "other")
    assert (config.var_directory, config.models_directory) == (Path("/v"), Path("/m"))
    assert (config.poll_seconds, config.stable_age_s) == (0.5, 5.0)
    assert config.database == Path("/v/ai/jobs.sqlite")


@pytest.mark.parametrize(
    ("key", "value"),
    [("Ai", "no"), ("Ai", 0), ("AiPollSeconds", "soon"), ("AiPollSeconds", -1), ("RedisUrl", 6379)],
)
def test_rejects_malformed_ai_keys(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=rf"NeuroNova\.{key}"):
        plugin_config({"NeuroNova": {key: value}})


def test_the_logged_config_carries_no_password() -> None:
    # The plugin logs repr(config) when it starts; Orthanc's log is read by more people than
    # the secrets file.
    config = plugin_config(
        {
            "NeuroNova": {"RedisUrl": "redis://:redis-secret-1@127.0.0.1:6390/0"},
            "PostgreSQL": {"EnableIndex": True, "Password": "pg-secret-2", "Username": "orthanc"},
        }
    )
    assert "pg-secret-2" in config.ai.postgres  # still used to connect...
    assert "redis-secret-1" in config.ai.redis_url
    logged = repr(config)
    assert "pg-secret-2" not in logged  # ...never logged
    assert "redis-secret-1" not in logged
