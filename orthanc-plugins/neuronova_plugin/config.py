"""Pure: the ``NeuroNova`` section of the Orthanc configuration, read once into frozen values.

One parser for every feature of the plugin (ingest, metrics, AI), so a key means the same thing
everywhere: booleans are JSON booleans or the strings "true"/"false" (any other value is refused,
never read as Python's truthiness, where ``bool("false")`` is True).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A NeuroNova key has the wrong type."""


@dataclass(frozen=True, slots=True)
class AiConfig:
    enabled: bool = True
    # The two connection strings carry passwords: kept out of repr, which the plugin logs at start.
    redis_url: str = field(default="redis://127.0.0.1:6379/0", repr=False)
    var_directory: Path = Path("var")
    # The models folder (manifest + ONNX per model id), named by the configuration (the stack
    # renders it); without it the AI is off (logged) and ingest runs on.
    models_directory: Path | None = None
    model_id: str = "nn-brain-tumour-synth"
    poll_seconds: float = 1.0
    stable_age_s: float = 60.0  # Orthanc's own StableAge
    # libpq conninfo of Orthanc's PostgreSQL index (the job store goes there); "": SQLite.
    postgres: str = field(default="", repr=False)
    # Signs every message the plugin publishes (docs/scaling.md); empty: publishing fails, so
    # messages stay in the outbox (`last_error` says why) until the key is configured.
    task_key: str = field(default="", repr=False)

    @property
    def database(self) -> Path:
        return self.var_directory / "ai" / "jobs.sqlite"


@dataclass(frozen=True, slots=True)
class PluginConfig:
    enabled: bool = True
    transcode: bool = True  # re-encode eligible images to HTJ2K lossless on ingest
    verify_transcode: bool = True  # decode every re-encoded frame and compare before storing
    transcode_colour: bool = True  # 8-bit RGB images too (grey images always when transcoding)
    zero_preamble: bool = True  # also for instances kept as received (dataset untouched)
    orthanc_log_file: str = ""  # Orthanc's log, followed to count refused DICOM associations
    dicom_entry_log_file: str = ""  # the DICOM entry's access log, followed by one replica
    ai: AiConfig = field(default_factory=AiConfig)


# The ingest switches: NeuroNova key -> PluginConfig attribute (all booleans).
CONFIG_KEYS: dict[str, str] = {
    "Enabled": "enabled",
    "Transcode": "transcode",
    "VerifyTranscode": "verify_transcode",
    "TranscodeColour": "transcode_colour",
    "ZeroPreamble": "zero_preamble",
}


def _as_bool(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise ConfigError(f"{name} must be true or false, not {value!r}")


def _as_str(name: str, value: object) -> str:
    if isinstance(value, str):
        return value
    raise ConfigError(f"{name} must be a string, not {value!r}")


def _as_seconds(name: str, value: object) -> float:
    seconds = -1.0
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        with contextlib.suppress(ValueError):
            seconds = float(value)
    if not seconds >= 0:  # also NaN
        raise ConfigError(f"{name} must be a number of seconds, not {value!r}")
    return seconds


def _ai_config(
    section: Mapping[str, Any], stable_age: object, orthanc_config: Mapping[str, Any]
) -> AiConfig:
    default = AiConfig()

    def get(key: str, fallback: object) -> tuple[str, object]:
        return f"NeuroNova.{key}", section.get(key, fallback)

    models = section.get("ModelsDirectory")
    return AiConfig(
        enabled=_as_bool(*get("Ai", default.enabled)),
        redis_url=_as_str(*get("RedisUrl", default.redis_url)),
        var_directory=Path(_as_str(*get("VarDirectory", str(default.var_directory)))),
        models_directory=None
        if models is None
        else Path(_as_str("NeuroNova.ModelsDirectory", models)),
        model_id=_as_str(*get("AiModel", default.model_id)),
        poll_seconds=_as_seconds(*get("AiPollSeconds", default.poll_seconds)),
        stable_age_s=_as_seconds("StableAge", stable_age),
        postgres=postgres_conninfo(orthanc_config),
        task_key=_as_str(*get("TaskKey", default.task_key)),
    )


def _quote(value: object) -> str:
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def postgres_conninfo(orthanc_config: Mapping[str, Any]) -> str:
    """The job store's database: the one of orthanc-postgresql's index, when it is enabled."""
    section = orthanc_config.get("PostgreSQL") or {}
    if not section.get("EnableIndex", False):
        return ""
    if section.get("ConnectionUri"):
        return str(section["ConnectionUri"])
    keys = {
        "host": section.get("Host", "localhost"),
        "port": section.get("Port", 5432),
        "dbname": section.get("Database", "orthanc"),
        "user": section.get("Username", ""),
        "password": section.get("Password", ""),
        "sslmode": "require" if section.get("EnableSsl", False) else "prefer",
    }
    return " ".join(f"{k}={_quote(v)}" for k, v in keys.items() if v != "")


def plugin_config(orthanc_config: Mapping[str, Any]) -> PluginConfig:
    """Build the config from the whole Orthanc configuration (``orthanc.GetConfiguration()``)."""
    section = orthanc_config.get("NeuroNova") or {}
    if not isinstance(section, Mapping):
        raise ConfigError("NeuroNova must be a JSON object")
    switches = {
        attr: _as_bool(f"NeuroNova.{key}", section[key])
        for key, attr in CONFIG_KEYS.items()
        if key in section
    }
    return PluginConfig(
        **switches,
        orthanc_log_file=_as_str("NeuroNova.OrthancLogFile", section.get("OrthancLogFile", "")),
        dicom_entry_log_file=_as_str(
            "NeuroNova.DicomEntryLogFile", section.get("DicomEntryLogFile", "")
        ),
        ai=_ai_config(section, orthanc_config.get("StableAge", 60), orthanc_config),
    )
