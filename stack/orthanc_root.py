"""Pure: how a process runs in the Orthanc root that ``scripts/orthanc-root.sh`` prepares.

Orthanc 1.13, its plugins and the Python plugin's venv live in a debootstrapped Debian sid root
(docker/orthanc/packages.txt pins it). A command runs there through ``orthanc-root.sh run``, which
binds host paths at the same path inside, so a configuration rendered with host paths works
unchanged. Used by the native stack (supervisord) and by the tests' Orthanc launcher.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "orthanc-root.sh"
# Paths inside the root (Debian's packages put them there; the production image uses the same).
ORTHANC = "/usr/sbin/Orthanc"
PLUGINS = "/usr/share/orthanc/plugins"
# The native HTJ2K codec plugin, built by bootstrap (orthanc-plugins/htj2k-codec/build.sh ROOT);
# inside the repository, so it reaches the root through the repository's read-only bind.
CODEC_PLUGIN = REPO / "orthanc-plugins" / "htj2k-codec" / "build" / "libNeuroNovaHtj2k.so"


def plugin_list(
    *,
    python: bool,
    dicomweb: bool,
    codec: Path | None,
    postgres_index: bool = False,
    postgres_storage: bool = False,
) -> list[str]:
    """Orthanc's ``Plugins`` entry, paths as the process inside the root sees them."""
    plugins = []
    if postgres_index:
        plugins.append(f"{PLUGINS}/libOrthancPostgreSQLIndex.so")
    if postgres_storage:
        plugins.append(f"{PLUGINS}/libOrthancPostgreSQLStorage.so")
    if python:
        plugins.append(f"{PLUGINS}/libOrthancPython.so")
    if dicomweb:
        plugins.append(f"{PLUGINS}/libOrthancDicomWeb.so")
    if codec is not None:
        plugins.append(str(codec))
    return plugins


def run_command(
    command: Sequence[str], *, bind: Sequence[Path] = (), ro_bind: Sequence[Path] = ()
) -> list[str]:
    """argv that runs ``command`` in the root, the given host paths bound at the same path.

    The repository is always bound read-only (the plugin's sources, the model manifests, the
    codec plugin); ``bind`` paths are writable (configuration, storage, index).
    """
    argv = [str(SCRIPT), "run", "--ro-bind", str(REPO)]
    for path in ro_bind:
        argv += ["--ro-bind", str(path)]
    for path in bind:
        argv += ["--bind", str(path)]
    return [*argv, "--", *command]


def orthanc_command(
    config: Path, *, bind: Sequence[Path], ro_bind: Sequence[Path] = ()
) -> list[str]:
    """argv of Orthanc on ``config`` in the root; ``bind`` holds the config, storage and index,
    ``ro_bind`` what the plugin reads outside the repository (a models folder elsewhere)."""
    return run_command([ORTHANC, str(config)], bind=bind, ro_bind=ro_bind)
