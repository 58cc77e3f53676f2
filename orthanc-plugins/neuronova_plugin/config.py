"""Pure: the plugin's own keys of the ``NeuroNova`` section of the Orthanc configuration.

Read once at start-up into a frozen dataclass. Keys owned by other features (``RedisUrl``,
``VarDirectory``, the AI keys) are ignored here and read by their own feature.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class ConfigError(ValueError):
    """A NeuroNova key has the wrong type."""


@dataclass(frozen=True, slots=True)
class PluginConfig:
    enabled: bool = True
    transcode: bool = True  # re-encode eligible images to HTJ2K lossless on ingest
    verify_transcode: bool = True  # decode every re-encoded frame and compare before storing
    transcode_colour: bool = True  # 8-bit RGB images too (grey images always when transcoding)
    zero_preamble: bool = True  # also for instances kept as received (dataset untouched)
    orthanc_log_file: str = ""  # Orthanc's log, followed to count refused DICOM associations


CONFIG_KEYS: dict[str, str] = {
    "Enabled": "enabled",
    "Transcode": "transcode",
    "VerifyTranscode": "verify_transcode",
    "TranscodeColour": "transcode_colour",
    "ZeroPreamble": "zero_preamble",
}


def _as_bool(key: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise ConfigError(f"NeuroNova.{key} must be true or false, not {value!r}")


def plugin_config(orthanc_config: Mapping[str, Any]) -> PluginConfig:
    """Build the config from the whole Orthanc configuration (``orthanc.GetConfiguration()``)."""
    section = orthanc_config.get("NeuroNova") or {}
    if not isinstance(section, Mapping):
        raise ConfigError("NeuroNova must be a JSON object")
    log_file = section.get("OrthancLogFile", "")
    if not isinstance(log_file, str):
        raise ConfigError(f"NeuroNova.OrthancLogFile must be a path, not {log_file!r}")
    values: dict[str, Any] = {
        attr: _as_bool(key, section[key]) for key, attr in CONFIG_KEYS.items() if key in section
    }
    return PluginConfig(**values, orthanc_log_file=log_file)
