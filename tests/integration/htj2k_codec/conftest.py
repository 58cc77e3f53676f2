"""Fixtures for the HTJ2K codec plugin: the runtime root, the built plugin, Orthanc 1.13."""

from __future__ import annotations

import shutil
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
def codec(tmp_path_factory: pytest.TempPathFactory) -> Codec:
    """The plugin and its command-line tools, built in the runtime root (cached by key), the
    tools copied under /tmp where the root sees them."""
    root = runtime_root()
    built = build(root, "plugin", "tool", "asan")
    folder = tmp_path_factory.mktemp("codec-tools")
    assert str(folder).startswith("/tmp/"), "the root sees the host's /tmp only"
    tools = {name: Path(shutil.copy2(built[name], folder)) for name in ("tool", "asan")}
    return Codec(root, built["plugin"], tools["tool"], tools["asan"])


@pytest.fixture(scope="module")
def orthanc13(codec: Codec, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RootedOrthanc]:
    """Orthanc 1.13 + the codec plugin + DICOMweb, shared by one module's tests."""
    workdir = tmp_path_factory.mktemp("orthanc13")
    assert str(workdir).startswith("/tmp/"), "the root sees the host's /tmp only"
    with rooted_orthanc(codec.root, codec.plugin, workdir) as running:
        yield running
    assert "Segmentation fault" not in running.log_text()
