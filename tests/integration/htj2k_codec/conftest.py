"""Fixtures for the HTJ2K codec plugin: the runtime root, the built plugin, Orthanc 1.13."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.htj2k_codec.support import RootedOrthanc, build, rooted_orthanc, runtime_root


@dataclass(frozen=True)
class Codec:
    root: Path
    plugin: Path
    tool: Path
    asan: Path


@pytest.fixture(scope="session")
def codec() -> Codec:
    """The plugin and its command-line tools, built in the runtime root (cached by key)."""
    root = runtime_root()
    built = build(root, "plugin", "tool", "asan")
    return Codec(root, built["plugin"], built["tool"], built["asan"])


@pytest.fixture(scope="module")
def orthanc13(codec: Codec, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RootedOrthanc]:
    """Orthanc 1.13 + the codec plugin + DICOMweb, shared by one module's tests."""
    with rooted_orthanc(codec.plugin, tmp_path_factory.mktemp("orthanc13")) as running:
        yield running
    assert "Segmentation fault" not in running.log_text()
