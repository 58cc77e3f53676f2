"""The plugin's NeuroNova section: defaults, overrides, foreign keys ignored, bad types refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from neuronova_plugin.config import CONFIG_KEYS, ConfigError, PluginConfig, plugin_config


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
    assert plugin_config(config) == PluginConfig()  # the shipped file states the defaults
    assert set(CONFIG_KEYS) <= set(config["NeuroNova"])  # ...and names every plugin key


@pytest.mark.parametrize("value", [1, "yes", None])
def test_rejects_non_boolean(value: object) -> None:
    with pytest.raises(ConfigError, match="Transcode"):
        plugin_config({"NeuroNova": {"Transcode": value}})


def test_config_is_frozen() -> None:
    with pytest.raises(AttributeError):
        PluginConfig().transcode = False  # type: ignore[misc]
