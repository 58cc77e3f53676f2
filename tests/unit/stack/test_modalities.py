"""The registered-modalities file: what an entry may hold, and that it stays private."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from stack import modalities
from stack.config import ConfigError


def test_an_entry_may_store_and_echo_only() -> None:
    entry = modalities.entry("MR1", "10.0.0.7")
    assert (entry["AET"], entry["Host"], entry["Port"]) == ("MR1", "10.0.0.7", 104)
    assert entry["AllowStore"] is True
    assert entry["AllowEcho"] is True
    assert not any(entry[key] for key in ("AllowFind", "AllowGet", "AllowMove"))


@pytest.mark.parametrize(
    ("aet", "host", "port"),
    [
        ("MR1", "scanner.example", 104),  # Orthanc compares the peer's address as text
        ("A-TITLE-LONGER-THAN-16", "10.0.0.7", 104),
        ("", "10.0.0.7", 104),
        ("MR1\\X", "10.0.0.7", 104),
        ("MR1", "10.0.0.7", 70000),
    ],
)
def test_what_orthanc_could_not_match_is_refused(aet: str, host: str, port: int) -> None:
    with pytest.raises(ConfigError):
        modalities.entry(aet, host, port)


def test_the_file_round_trips_and_is_private(tmp_path: Path) -> None:
    assert modalities.read(tmp_path) == {}
    registered = {"MR1": modalities.entry("MR1", "10.0.0.7"), "CT": modalities.entry("CT1", "::1")}
    modalities.write(tmp_path, registered)
    assert modalities.read(tmp_path) == registered
    assert stat.S_IMODE(modalities.path(tmp_path).stat().st_mode) == 0o600
